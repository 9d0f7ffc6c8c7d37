"""Every shell command the documentation tells a user to type runs as written.

The commands are extracted, not listed here: each fenced ``bash`` block of README.md and docs/*.md and each
example config's header.  A command is run from a copy of the repository root by its first word:

* ``snakemake ...`` (or ``.venv/bin/snakemake``): as a dry run (``-n``), after the block's own set-up
  commands (``python examples/...``) have really run; ``--unlock`` really runs (it only removes a lock);
* ``python <script>``: run for real when it prepares a snakemake command that follows in its block, else
  (a report from results, a benchmark) ``--help``: it starts and parses its arguments; a redirection
  (``> file``) is dropped;
* ``make <target>``: ``make -n <target>`` (what it would run), since ``make test`` is this suite and
  ``make run`` the default workflow, which other tests run;
* ``source <file>``: the file exists (after ``make setup``; the suite runs inside that environment).

A block's stated preconditions are met first (:data:`PRECONDITIONS`: the fidelity example's official MNIST
IDX files, here written from the embedded digits: a dry run checks their presence and format only).

A documented command of another form fails the test until a rule for it is added here, so a new command in
the documentation is covered or reported, never silently skipped.
"""

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, run_snakemake

FENCE = re.compile(r"```(?:bash|sh|shell)\n(.*?)```", re.S)


def _blocks():
    """(where, [commands]) of every fenced shell block and every example header, in document order."""
    out = []
    for path in ["README.md"] + sorted(os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, "docs", "*.md"))):
        text = open(os.path.join(REPO, path)).read()
        for k, block in enumerate(FENCE.findall(text)):
            commands = [line.split("  #")[0].strip() for line in block.splitlines()]
            commands = [c for c in commands if c and not c.startswith("#")]
            if commands:
                out.append((f"{path} block {k + 1}", commands))
    for path in sorted(glob.glob(os.path.join(REPO, "examples", "*", "config.yaml"))):
        commands = []
        for line in open(path).read().splitlines():
            if not line.startswith("#"):
                break
            text = line.lstrip("#").split("  #")[0].strip()
            if re.match(r"(python|snakemake|make) ", text):
                commands.append(text)
        if commands:
            out.append((os.path.relpath(path, REPO), commands))
    return out


BLOCKS = _blocks()


def _copy(tmp_path):
    shutil.copytree(REPO, tmp_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        ".venv", ".git", "results", "resources", ".snakemake", "__pycache__", "tests", "notebooks"))
    return tmp_path


def _mnist_idx(folder):
    from repgeom import mnist
    from test_mnist import _write_idx

    _write_idx(folder / "resources" / "mnist_idx", mnist.load_embedded(100, 0))


PRECONDITIONS = {"examples/fidelity/config.yaml": _mnist_idx}  # "the four official MNIST IDX files in ..."


def _run(argv, cwd):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def test_the_documentation_has_the_commands_this_test_runs():
    where = [w for w, _ in BLOCKS]
    assert any(w.startswith("README.md") for w in where) and "examples/92images/config.yaml" in where, where
    assert ["make run", "make test"] in [c for _, c in BLOCKS]  # the README's two commands


@pytest.mark.parametrize("where, commands", BLOCKS, ids=[w for w, _ in BLOCKS])
def test_every_documented_command_runs_as_written(where, commands, tmp_path):
    folder = _copy(tmp_path)
    if where in PRECONDITIONS:
        PRECONDITIONS[where](folder)
    for k, line in enumerate(commands):
        prepares = any(os.path.basename(c.split()[0]) == "snakemake" for c in commands[k + 1:])
        for command in [c.strip() for c in line.split("&&")]:
            argv = shlex.split(command)
            if ">" in argv:
                argv = argv[:argv.index(">")]
            head = os.path.basename(argv[0])
            if head == "snakemake":
                if "--unlock" in argv:
                    proc = run_snakemake(folder, *argv[1:], check=False, snakefile=folder / "Snakefile", cwd=folder)
                else:
                    proc = run_snakemake(folder, *argv[1:], "-n", "--quiet", "rules", check=False,
                                         snakefile=folder / "Snakefile", cwd=folder)
                assert proc.returncode == 0, f"{where}: {command}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            elif head == "python":
                extra = [] if prepares else ["--help"]
                proc = _run([sys.executable, *argv[1:], *extra], folder)
                assert proc.returncode == 0, f"{where}: {command}\n{proc.stderr[-3000:]}"
            elif head == "make":
                proc = _run(["make", "-n", *argv[1:]], folder)
                assert proc.returncode == 0, f"{where}: {command}\n{proc.stderr[-3000:]}"
                want = {"run": "snakemake --cores", "test": "pytest"}.get(argv[1] if len(argv) > 1 else "")
                assert want is None or want in proc.stdout, f"{where}: {command} runs:\n{proc.stdout}"
            elif head == "source":
                assert os.path.exists(os.path.join(REPO, argv[1])), f"{where}: {command}: no {argv[1]}"
            else:
                pytest.fail(f"{where}: no rule to run the documented command {command!r}; add one to this test")

"""Benchmark: typical edits to a finished run, rerun by the workflow against re-running the seed's touched cells.

    python benchmarks/edits.py --run RUN      # RUN: a finished default run (its config.yaml and results/)
    python benchmarks/edits.py --run RUN10K --at-scale   # a finished run of benchmarks/configs/edits_at_scale.yaml

For each edit (one FGSM eps; a model added to a path; a model's figure colour; a new stimulus set with its
RDM panels) a copy of the run gets the edit in its config.yaml and ``snakemake --cores 2`` reruns what the
edit touches: wall time of the whole command (start-up included) and the jobs it ran.  The seed's side:
benchmarks/tutorial_way.py runs the seed's analysis cells once, in one warm process, on the same checkpoints,
and an edit costs the cells a notebook user re-executes for it (imports and model loading not counted).
Also printed: Snakemake's own start-up on the finished run (``snakemake -n``: its imports, parsing, the DAG
and the up-to-date checks), a floor no rerun of the workflow can go under, whatever its jobs cost.
Prints figures; asserts nothing.  The copies hard-link the feature stores (never written in place: a job
that remakes one removes it first) and copy everything else.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SNAKEMAKE = os.path.join(os.path.dirname(sys.executable), "snakemake")


def edit_eps(cfg):
    cfg["stimuli"]["fgsm_standard_20"]["eps"] = 0.15


def edit_add_model(cfg):
    cfg["paths"]["standard_vs_robust_clean"]["models"].append("recurrent")


def edit_colour(cfg):
    cfg["models"]["standard"]["color"] = "tab:red"


def edit_new_set(cfg):
    cfg["stimuli"]["clean_30"] = {"kind": "per_class", "n": 30}
    cfg["rdms"]["clean_30_rdms"] = {"models": ["standard"], "stimuli": ["clean_30"], "method": "correlation",
                                    "nodes": "layers"}


PATH_CELLS = ["section 1 path (first 1000)", "section 1 path (5/class)", "standard vs robust path, clean",
              "standard vs robust path, FGSM", "exercise 2 (new seed) path", "feedforward vs recurrent path"]
EDITS = [
    ("one FGSM eps (fgsm_standard_20: 0.2 -> 0.15)", edit_eps, ["FGSM on the standard model + its RDMs"]),
    ("a model added to a path (recurrent to standard_vs_robust_clean)", edit_add_model,
     ["standard vs robust path, clean"]),
    ("a model's figure colour (standard -> tab:red)", edit_colour, PATH_CELLS),
    ("a new stimulus set with its RDM panels (30 per class)", edit_new_set, ["section 1 RDMs (20/class)"]),
]


def edit_add_model_at_scale(cfg):
    cfg["paths"]["test_set"]["models"].append("recurrent")


# A run at dataset scale (benchmarks/configs/edits_at_scale.yaml): the seed's path cell over 10,000 images
# can't run on a 24 GB machine (its calc_rdms alone holds 13 x 13 N x N float64 matrices), so the touched
# cells have no time to compare with; the workflow's reruns are printed.
EDITS_AT_SCALE = [
    ("a model's figure colour (standard -> tab:red)", edit_colour, None),
    ("a model added to the 10,000-image path (recurrent to test_set)", edit_add_model_at_scale, None),
]


def copy_run(run, dest):
    """A copy of a run: feature stores hard-linked, everything else copied."""
    os.makedirs(dest)
    for name in os.listdir(run):
        src, dst = os.path.join(run, name), os.path.join(dest, name)
        if name == "results":
            os.makedirs(dst)
            for sub in os.listdir(src):
                s, d = os.path.join(src, sub), os.path.join(dst, sub)
                if sub == "features":
                    shutil.copytree(s, d, copy_function=os.link)
                elif os.path.isdir(s):
                    shutil.copytree(s, d, symlinks=True)
                else:
                    shutil.copy2(s, d)
        elif os.path.isdir(src):
            shutil.copytree(src, dst, symlinks=True)
        else:
            shutil.copy2(src, dst)


def snakemake(folder, *args):
    cmd = [SNAKEMAKE, "-s", os.path.join(REPO, "Snakefile"), "--directory", folder, "--cores", "2", *args]
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.exit(f"snakemake failed in {folder}:\n{proc.stderr[-3000:]}")
    return wall, proc.stdout + proc.stderr


def job_counts(log):
    """{rule: jobs} from snakemake's job table."""
    counts, table = {}, False
    for line in log.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            table = True
            continue
        if table and len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
        elif table and counts and not parts:
            break
    return counts


def job_seconds(folder, since):
    """{job's benchmark file (relative): seconds} for the jobs whose benchmark files were written after ``since``."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if name.endswith(".tsv") and os.path.getmtime(path) >= since:
                with open(path) as f:
                    out[os.path.relpath(path, folder)[:-4]] = float(f.read().splitlines()[1].split("\t")[0])
    return out


def seed_cells(run, threads):
    out = tempfile.mkdtemp(prefix="repgeom-seed-")
    cmd = [sys.executable, os.path.join(HERE, "tutorial_way.py"), "--results", os.path.join(run, "results"),
           "--out", out, "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"the seed's cells failed:\n{proc.stderr[-3000:]}")
    shutil.rmtree(out, ignore_errors=True)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1])["cells"])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="a finished default run: a folder with config.yaml and results/")
    p.add_argument("--tmpdir", default=None)
    p.add_argument("--threads", type=int, default=2, help="torch threads of the seed's process")
    p.add_argument("--at-scale", action="store_true",
                   help="RUN is a finished run of benchmarks/configs/edits_at_scale.yaml (N=10,000 path)")
    a = p.parse_args()
    run = os.path.abspath(a.run)
    noop, log = snakemake(run, "-n")
    if job_counts(log):
        sys.exit(f"{run} is not finished (snakemake -n plans {job_counts(log)}): run snakemake there first")
    noop = min([noop] + [snakemake(run, "-n")[0] for _ in range(2)])
    print(f"Snakemake's own start-up (snakemake -n on the finished run, best of 3): {noop:.1f} s")
    if a.at_scale:
        cells, edits = {}, EDITS_AT_SCALE
        print("the seed's touched cells: its path cell over 10,000 images does not run in 24 GB")
    else:
        cells, edits = seed_cells(run, a.threads), EDITS
        print(f"seed's cells, one warm process: {sum(cells.values()):.1f} s in all")
    rows = []
    for title, edit, touched in edits:
        folder = tempfile.mkdtemp(prefix="repgeom-edit-", dir=a.tmpdir)
        shutil.rmtree(folder)
        copy_run(run, folder)
        with open(os.path.join(folder, "config.yaml")) as f:
            cfg = yaml.safe_load(f)
        edit(cfg)
        with open(os.path.join(folder, "config.yaml"), "w") as f:
            yaml.safe_dump(cfg, f, sort_keys=False)
        _, plan = snakemake(folder, "-n", "--quiet", "rules")
        counts = {k: v for k, v in job_counts(plan).items() if k not in ("all", "total")}
        started = time.time()
        wall, _ = snakemake(folder)
        rows.append((title, counts, wall, touched))
        jobs = job_seconds(os.path.join(folder, "results", "benchmarks"), started)
        print(f"\n{title}\n  workflow: {wall:5.1f} s, {sum(counts.values())} jobs {counts}\n"
              f"  the jobs' own times (Snakemake's benchmark files): {sum(jobs.values()):.1f} s in all; longest: "
              + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(jobs.items(), key=lambda kv: -kv[1])[:3]), flush=True)
        if touched is not None:
            seed = sum(cells[c] for c in touched)
            print(f"  seed's touched cells: {seed:5.1f} s ({'; '.join(touched)})\n"
                  f"  ratio (seed / workflow): {seed / wall:.2f}", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    print("\n| edit | workflow rerun | jobs | of which Snakemake's start-up | seed's touched cells | seed / workflow |"
          "\n|---|---|---|---|---|---|")
    for title, counts, wall, touched in rows:
        seed = None if touched is None else sum(cells[c] for c in touched)
        cells_run = None if touched is None else f"{len(touched)} cell" + ("s" if len(touched) > 1 else "")
        print(f"| {title} | {wall:.1f} s | {sum(counts.values())} | {noop:.1f} s | "
              + ("can't run (memory) | - |" if seed is None else f"{seed:.1f} s ({cells_run}) | {seed / wall:.2f} |"))


if __name__ == "__main__":
    main()

"""Benchmark: the workflow's analysis part against the tutorial's own way, side by side in one run.

    python benchmarks/analysis_vs_tutorial.py            # after `make run` (needs its data + checkpoints)
    python benchmarks/analysis_vs_tutorial.py --cores 2 --repeats 2

Both start from the same data (``results/data/mnist.npz``) and checkpoints
(``results/checkpoints/*.pt``) and analyse the same stimuli:

* workflow: a fresh results folder holding only the data and checkpoints, then
  ``snakemake --cores N`` with the default config: every stimulus set,
  feature store, RDM cube, path, embedding, figure and metrics file after the
  checkpoints (wall time of the whole command, Snakemake's start-up included);
* tutorial's way: ``benchmarks/tutorial_way.py``, every analysis cell of the
  tutorial in one Python process (imports included).

Prints both wall times, their ratio, the workflow's job time per rule (from its
benchmark files) and the tutorial's time per cell, and checks that both used
the same images.  Asserts nothing about speed.
"""

import argparse
import collections
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def run_workflow(results, workdir, cores):
    out = os.path.join(workdir, "results")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for sub in ("data", "checkpoints"):
        shutil.copytree(os.path.join(results, sub), os.path.join(out, sub), copy_function=shutil.copy2)
    cmd = ["snakemake", "--cores", str(cores), "--config", f"results={out}"]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"workflow failed:\n{proc.stdout[-3000:]}")
    per_rule = collections.defaultdict(lambda: [0, 0.0])
    for path in glob.glob(os.path.join(out, "benchmarks", "**", "*.tsv"), recursive=True):
        rule = os.path.relpath(path, os.path.join(out, "benchmarks")).split(os.sep)[0].removesuffix(".tsv")
        with open(path) as f:
            row = next(csv.DictReader(f, delimiter="\t"))
        per_rule[rule][0] += 1
        per_rule[rule][1] += float(row["s"])
    return wall, dict(per_rule), out


def run_tutorial(results, workdir):
    out = os.path.join(workdir, "tutorial")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, os.path.join(HERE, "tutorial_way.py"), "--results", results, "--out", out]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"tutorial's way failed:\n{proc.stderr[-3000:]}")
    return wall, json.loads(proc.stdout.strip().splitlines()[-1]), out


def same_stimuli(tutorial_out, workflow_results):
    """{set: max abs difference} between the images both ways used, as the networks see them (normalised)."""
    import xarray as xr

    from repgeom.mnist import MEAN, STD

    ref = np.load(os.path.join(tutorial_out, "stimuli.npz"))  # the tutorial keeps normalised images
    out = {}
    for name in ref.files:  # the workflow keeps pixels; each model normalises them
        pixels = xr.open_zarr(os.path.join(workflow_results, "stimuli", f"{name}.zarr"))["images"].values
        out[name] = float(np.abs((pixels - np.float32(MEAN)) / np.float32(STD) - ref[name]).max())
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", default=os.path.join(REPO, "results"),
                   help="where the default run's data and checkpoints are")
    p.add_argument("--cores", type=int, default=os.cpu_count())
    p.add_argument("--repeats", type=int, default=1, help="alternate the two ways this many times")
    p.add_argument("--workdir", help="keep the outputs here (default: a temporary folder)")
    a = p.parse_args()
    results = os.path.abspath(a.results)
    for need in ("data/mnist.npz", "checkpoints"):
        if not os.path.exists(os.path.join(results, need)):
            sys.exit(f"{results}/{need} is missing: run the workflow once (make run) first")
    workdir = a.workdir or tempfile.mkdtemp(prefix="repgeom-bench-")
    print(f"{os.cpu_count()} CPUs, --cores {a.cores}; outputs under {workdir}")
    flows, tuts = [], []
    for k in range(a.repeats):
        wall, per_rule, wf_results = run_workflow(results, workdir, a.cores)
        flows.append(wall)
        print(f"run {k + 1}: workflow analysis part {wall:6.1f} s", flush=True)
        twall, tinfo, tout = run_tutorial(results, workdir)
        tuts.append(twall)
        print(f"run {k + 1}: tutorial's way          {twall:6.1f} s ({tinfo['figures']} figures; imports "
              f"{tinfo['imports']:.1f} s)", flush=True)
    print("\nsame images (max |difference| per set):",
          ", ".join(f"{k} {v:.1e}" for k, v in same_stimuli(tout, wf_results).items()))
    print("\nworkflow job time per rule (last run; jobs run side by side, so these add up to more than the wall time):")
    for rule, (n, s) in sorted(per_rule.items(), key=lambda kv: -kv[1][1]):
        print(f"  {rule:16s} {n:3d} jobs {s:7.1f} s  ({s / n:.1f} s each)")
    print(f"  {'total':16s} {sum(n for n, _ in per_rule.values()):3d} jobs "
          f"{sum(s for _, s in per_rule.values()):7.1f} s")
    print("\ntutorial's way per cell (last run):")
    for name, s in tinfo["cells"]:
        print(f"  {s:6.1f} s  {name}")
    print(f"\nworkflow {min(flows):.1f} s (runs: {', '.join(f'{x:.1f}' for x in flows)}) vs tutorial's way "
          f"{min(tuts):.1f} s (runs: {', '.join(f'{x:.1f}' for x in tuts)}): ratio {min(flows) / min(tuts):.2f}")
    if not a.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Benchmark: a stimulus bootstrap of a representational path, from stored cubes.

    python benchmarks/bootstrap_path.py                       # after `make run`: standard vs robust, clean_50
    python benchmarks/bootstrap_path.py --n-boot 200 --results /other/results

Times the point estimate and the bootstrap (similarities of every resample, distances, one MDS per resample
aligned to the estimate) of the two-model all-node path on 500 stimuli (27 RDMs: 13 nodes per model plus the
labels), each part separately, and prints the interval width of each model's last-layer distance to the
labels.  Without the default run's cubes it makes random cubes of the same shapes (labelled so).
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))


def _entries(results, method, models, stimuli):
    from repgeom import paths
    from repgeom.cubes import Cube

    entries = []
    for m in models:
        cube = Cube(os.path.join(results, "rdms", method, m, f"{stimuli}.zarr"))
        entries.append(paths.Entry(m, "model", cube.layers, [cube.rows(layer) for layer in cube.layers]))
    labels = Cube(os.path.join(results, "labels", method, f"{stimuli}.zarr"))
    entries.append(paths.Entry("labels", "labels", ["labels"], [labels.rows("labels")], "point"))
    return entries, len(labels.ids), "the default run's cubes"


def _random_entries(n, layers=13):
    from repgeom import cubes, paths, rdm, store

    folder = tempfile.mkdtemp()
    rng = np.random.default_rng(0)
    entries = []
    labels = np.repeat(np.arange(10), n // 10)
    for m in ("a", "b"):
        X = rng.standard_normal((n, 64)) + 2 * np.eye(10, 64)[labels]
        mats = [rdm.compute((X @ rng.standard_normal((64, 64))).astype(np.float32)) for _ in range(layers)]
        path = os.path.join(folder, f"{m}.zarr")
        store.write_cube(path, np.arange(n), labels, [f"l{k}" for k in range(layers)], iter(mats), {})
        cube = cubes.Cube(path)
        entries.append(paths.Entry(m, "model", cube.layers, [cube.rows(x) for x in cube.layers]))
    path = os.path.join(folder, "labels.zarr")
    store.write_cube(path, np.arange(n), labels, ["labels"], cubes.labels_rdms(labels, list(range(10)), "euclidean"), {})
    entries.append(paths.Entry("labels", "labels", ["labels"], [cubes.Cube(path).rows("labels")], "point"))
    return entries, n, "random cubes of the same shapes (no default run found)"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", default="results")
    p.add_argument("--n-boot", type=int, default=200)
    p.add_argument("--compare", default="cosine")
    a = p.parse_args()
    from repgeom import compare, metrics, paths

    t0 = time.perf_counter()
    try:
        entries, n, what = _entries(a.results, "euclidean", ["standard", "adversarial"], "clean_50")
    except Exception:
        entries, n, what = _random_entries(500)
    print(f"{len(entries) - 1} models, {sum(len(e.layers) for e in entries)} RDMs of {n} stimuli: {what}")
    t1 = time.perf_counter()
    point = paths.path(entries, n, a.compare, "arccos")
    t2 = time.perf_counter()
    rdms = [r for e in entries for r in e.rdms]
    samples = np.random.default_rng(0).integers(0, n, size=(a.n_boot, n))
    sims = compare.bootstrap_similarity(rdms, n, a.compare, samples)
    t3 = time.perf_counter()
    result = paths.compute([entries], n, a.compare, "arccos", n_boot=a.n_boot, boot_seed=0)
    t4 = time.perf_counter()
    boot = result.bootstrap
    assert np.allclose(boot["similarity"], sims) and np.allclose(result.paths[0].similarity, point.similarity)
    ci = metrics.path_metric_intervals(boot["distance"], point.names, point.layers, point.kinds)
    print(f"point estimate (similarities + MDS, 10 starts): {t2 - t1:.2f} s")
    print(f"bootstrap similarities, {a.n_boot} resamples:    {t3 - t2:.2f} s")
    print(f"the whole path in one walk (point + {a.n_boot} resamples, distances, MDS, {a.n_boot} aligned MDS): "
          f"{t4 - t3:.2f} s")
    for m in [e.name for e in entries if e.kind == "model"]:
        lo, hi = ci[m]["last_layer_distance_to"]["labels"]["ci95"]
        print(f"  {m}: last layer to labels 95 % interval [{lo:.4f}, {hi:.4f}] (width {hi - lo:.4f})")
    print(f"total {t4 - t0:.1f} s")


if __name__ == "__main__":
    main()

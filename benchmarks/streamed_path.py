"""Benchmark: all-node representational paths streamed from feature stores (no RDM cubes), against the floor.

    python benchmarks/streamed_path.py --idx /data/mnist --results results --sizes 1000 2000 5000 10000
    python benchmarks/streamed_path.py --idx /data/mnist --sizes 20000 --models standard

For each N (the first N test digits; beyond 10,000 the test set again, shifted by one pixel per copy),
in a fresh process each (its allocator tuned as every workflow step's is: ``steps._shell.tune_allocator``):
the features of every node of the models into Zarr stores (timed against one plain forward pass of the same
images at the same thread count, and against writing the same bytes as plain files -- the disk's floor:
~0.28 MB an image for the standard model, its ReLU nodes being derived, not stored -- whichever is
slower), then the streamed path of the models' nodes and
the labels (timed, peak RSS), and the floor of its Gram stage: one BLAS ``syrk`` (``Z @ Z.T``) per distinct
node on the same shapes, timed in the same process.  Prints time, peak memory and the ratios; asserts
nothing about speed.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

CHUNK_ROWS = 250  # the features job's row chunks (its batch size)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))


def images(idx, n):
    from repgeom import mnist

    data = mnist.load_idx(idx)
    x, y = data.test_images, data.test_labels
    copies, shift = [x], 1
    while sum(len(c) for c in copies) < n:
        copies.append(np.roll(x, shift, axis=2))
        shift += 1
    return mnist.pixels(np.concatenate(copies)[:n]), np.concatenate([y] * len(copies))[:n]


def write_floor(net, pix, nodes, pre, tmpdir):
    """Seconds to write the bytes a features store holds as plain files of the same chunk sizes (no network,
    no checksum), then flushed out of the page cache's dirty pages so the store's write starts as this did."""
    import shutil

    from repgeom import features

    # one batch of the stored nodes (aliases and derived nodes left out), as the store's chunks hold them
    _, feats, _ = next(features.iter_features(net, pix[:CHUNK_ROWS], nodes, CHUNK_ROWS, "cpu", preprocess=pre))
    folder = tempfile.mkdtemp(dir=tmpdir)
    os.sync()
    t0 = time.perf_counter()
    for node, v in feats.items():
        chunk = np.ascontiguousarray(v).view(np.uint8).reshape(-1)
        for k in range(0, len(pix), CHUNK_ROWS):
            with open(os.path.join(folder, f"{node}.{k}"), "wb") as f:
                f.write(memoryview(chunk))
    seconds = time.perf_counter() - t0
    shutil.rmtree(folder)
    os.sync()
    return seconds


def child(a):
    """One N, in this process: features, streamed path, floor."""
    import torch

    from repgeom import checkpoints, compare, features, pairstats, preprocess, store
    from repgeom.models import MODEL_KINDS, tutorial_kind_of

    from repgeom.steps._shell import tune_allocator

    tune_allocator()
    torch.set_num_threads(a.threads)
    pix, labels = images(a.idx, a.n)
    tmp = tempfile.mkdtemp(dir=a.tmpdir)
    t_features = t_forward = t_write = 0.0
    rdms = []
    for m in a.models:
        net = checkpoints.load_model(os.path.join(a.results, "checkpoints", f"{m}.pt"))
        kind = MODEL_KINDS[tutorial_kind_of(net)]
        nodes = kind.static_nodes({"time_steps": getattr(net, "time_steps", 5)})
        pre = preprocess.build(preprocess.resolve(kind.default_preprocess))
        t0 = time.perf_counter()
        with torch.no_grad():
            for s in range(0, a.n, CHUNK_ROWS):
                net(pre(torch.from_numpy(pix[s:s + CHUNK_ROWS])))
        t_forward += time.perf_counter() - t0
        path = os.path.join(tmp, f"{m}.zarr")
        t_write += write_floor(net, pix, nodes, pre, tmp)
        t0 = time.perf_counter()
        batches = features.iter_features(net, pix, nodes, CHUNK_ROWS, "cpu", preprocess=pre)
        store.write_features_store(path, batches, np.arange(a.n), labels, {}, CHUNK_ROWS)
        t_features += time.perf_counter() - t0
        os.sync()
        rdms += pairstats.feature_sources(store.open_group(path), nodes, "euclidean", name=m)  # aliases share one
    rdms.append(pairstats.LabelsRDM(labels, 10, "euclidean"))
    sources, mapping = pairstats.distinct(rdms)  # one source per distinct RDM
    block = a.block or pairstats.block_for_budget(sources, a.n, a.budget_gb * 1e9, multiple=CHUNK_ROWS)
    timings = {}
    t0 = time.perf_counter()
    sim = compare.similarity(rdms, a.n, "cosine", block=block, timings=timings)
    t_path = time.perf_counter() - t0
    rss_path = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    # the floor: one symmetric product per distinct node, same shapes, same process
    t_floor, flops = 0.0, 0.0
    for s in sources[:-1]:
        X = np.asarray(s.features[:], dtype=np.float32).reshape(a.n, -1)
        t0 = time.perf_counter()
        X @ X.T
        t_floor += time.perf_counter() - t0
        flops += a.n * a.n * X.shape[1]
        del X
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"n": a.n, "models": a.models, "rdms": len(mapping), "distinct": len(sources), "block": block,
                      "timings": timings,
                      "features_s": t_features, "forward_s": t_forward, "write_floor_s": t_write, "path_s": t_path, "floor_s": t_floor,
                      "gflops": flops / 1e9, "peak_rss_gb_path": rss_path,
                      "similarity_last_to_labels": float(sim[len(mapping) - 2, -1])}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--idx", required=True, help="a folder with the four official MNIST IDX files")
    p.add_argument("--results", default="results", help="a run's results (its checkpoints are used)")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 10000])
    p.add_argument("--models", nargs="+", default=["standard", "adversarial", "recurrent"])
    p.add_argument("--block", type=int, default=0, help="row block (default: the largest within --budget-gb)")
    p.add_argument("--budget-gb", type=float, default=1.2, help="working set of the streamed path")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--tmpdir", default=None)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.n:
        return child(a)
    print(f"streamed all-node paths of {a.models} (+ labels), block {a.block}, {a.threads} threads")
    print(f"{'N':>7} {'features':>9} {'1 fwd':>7} {'ratio':>6} {'write':>7} {'ratio':>6} {'path':>8} {'floor':>8} "
          f"{'ratio':>6} {'peak RSS':>9}")
    for n in a.sizes:
        cmd = [sys.executable, __file__, "--idx", a.idx, "--results", a.results, "--n", str(n), "--block",
               str(a.block), "--budget-gb", str(a.budget_gb), "--threads", str(a.threads), "--models", *a.models]
        if a.tmpdir:
            cmd += ["--tmpdir", a.tmpdir]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            sys.exit(out.stderr[-3000:])
        r = json.loads(out.stdout.strip().splitlines()[-1])
        tm = r["timings"]
        feature_floor = max(r["forward_s"], r["write_floor_s"])
        print(f"{n:>7} {r['features_s']:8.1f}s {r['forward_s']:6.1f}s {r['features_s'] / r['forward_s']:5.2f}x "
              f"{r['write_floor_s']:6.1f}s {r['features_s'] / feature_floor:5.2f}x "
              f"{r['path_s']:7.1f}s {r['floor_s']:7.1f}s {r['path_s'] / r['floor_s']:5.2f}x "
              f"{r['peak_rss_gb_path']:7.2f} GB   block {r['block']}: read {tm['load'] + tm['prepare']:.1f}s, "
              f"Gram+finish {tm['blocks']:.1f}s ({tm['blocks'] / r['floor_s']:.2f}x floor), "
              f"accumulate {tm['accumulate']:.1f}s", flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: repgeom's RDMs and representational paths against the tutorial's own way (rsatoolbox).

Prints figures; asserts nothing.  Each variant runs in a fresh subprocess so
its peak memory (ru_maxrss) is its own.

    python benchmarks/rdm_paths.py                 # everything (≈15 min on 2 cores)
    python benchmarks/rdm_paths.py --sections rdms --n-rdm 2000
    python benchmarks/rdm_paths.py --sections path --n-path 2000
    python benchmarks/rdm_paths.py --sections scaling --sizes 1000 2000 5000 10000

Features come from the standard model (``results/checkpoints/standard.pt`` when
it exists, else an untrained network: timings don't depend on the weights).
Images: every digit of ``results/data/mnist.npz`` (train and held-out), or the
embedded subset; beyond that, copies shifted by one pixel stand in for more
digits (say so in the output).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "src"))
RESULTS = os.environ.get("REPGEOM_BENCH_RESULTS", os.path.join(REPO, "results"))  # set by --results
PEAK_GFLOPS = 180.0  # fp32 GEMM peak quoted for this 2-core machine


# ---- inputs -------------------------------------------------------------------------------------

def load_images(n):
    from repgeom import mnist

    path = os.path.join(RESULTS, "data/mnist.npz")
    data = mnist.read(path) if os.path.exists(path) else mnist.load_embedded()
    imgs = np.concatenate([data.test_images, data.train_images])
    labels = np.concatenate([data.test_labels, data.train_labels])
    note = f"{len(imgs)} {data.source} digits"
    shift = 1
    while len(imgs) < n:
        imgs = np.concatenate([imgs, np.roll(imgs[: n - len(imgs)], shift, axis=(1, 2))])
        labels = np.concatenate([labels, labels[: n - len(labels)]])
        note += f" + copies shifted by {shift} px"
        shift += 1
    return mnist.normalize(imgs[:n]), labels[:n], note


def load_model():
    from repgeom import checkpoints, networks

    path = os.path.join(RESULTS, "checkpoints/standard.pt")
    if os.path.exists(path):
        return checkpoints.load_model(path, kind="feedforward"), path
    import torch

    torch.manual_seed(0)
    return networks.Net().eval(), "untrained Net (no checkpoint found)"


# ---- workers (run in subprocesses) ----------------------------------------------------------------

def worker_rdm_ours(args):
    from repgeom import rdm

    X = np.load(args.features, mmap_mode="r")[: args.n]
    X = np.ascontiguousarray(X)
    t = time.perf_counter()
    D = rdm.compute(X, args.method)
    dt = time.perf_counter() - t
    np.save(args.out, rdm.condensed(D).astype(np.float64))
    return {"seconds": dt}


def worker_rdm_rsatoolbox(args):
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    X = np.ascontiguousarray(np.load(args.features, mmap_mode="r")[: args.n])  # float32, as the tutorial has them
    t = time.perf_counter()
    rdms = calc_rdm(Dataset(X), method=args.method)
    dt = time.perf_counter() - t
    np.save(args.out, rdms.dissimilarities[0].astype(np.float64))
    return {"seconds": dt}


def worker_path_seed(args):
    """The seed's own code, verbatim: ``extract_features(model, imgs, 'all')`` then ``rep_path`` (its
    ``calc_rdms`` builds ``rdms_dict`` too; it draws its figure, written to a file instead of shown).
    The helpers are benchmarks/tutorial_way.py's copies of the seed's."""
    import torch
    import rsatoolbox

    sys.path.insert(0, HERE)
    import tutorial_way as seed

    torch.set_num_threads(2)
    model, _ = load_model()
    imgs, labels, _ = load_images(args.n)
    imgs, labels = torch.as_tensor(imgs), torch.as_tensor(labels)
    seed.OUT = tempfile.mkdtemp(dir=args.tmpdir)
    captured = {}
    compare = rsatoolbox.rdm.compare

    def keep(*a, **kw):  # records the comparison matrix the seed computes (no change to its work)
        captured["comp"] = compare(*a, **kw)
        return captured["comp"]

    rsatoolbox.rdm.compare = keep
    np.asarray(rsatoolbox.rdm.RDMs(np.zeros((1, 3))).get_vectors())  # warm up imports
    t0 = time.perf_counter()
    model_features = seed.extract_features(model, imgs, "all")
    t1 = time.perf_counter()
    seed.rep_path({"standard": model_features}, {"standard": "b"}, labels)
    t2 = time.perf_counter()
    np.save(args.out, captured["comp"])
    return {"seconds": t2 - t0, "features": t1 - t0, "rep_path": t2 - t1}


def worker_path_tutorial(args):
    """CUT-DOWN variant of the seed's steps: its feature extraction, rsatoolbox RDMs and compare, but without the
    ``rdms_dict`` line of ``calc_rdms`` (13 N x N float64 copies) and without drawing."""
    import torch
    import torch.nn.functional as F
    import rsatoolbox
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm.calc import calc_rdm
    from sklearn import manifold
    from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

    torch.set_num_threads(2)
    model, _ = load_model()
    imgs, labels, _ = load_images(args.n)
    labels = torch.as_tensor(labels)
    np.asarray(rsatoolbox.rdm.RDMs(np.zeros((1, 3))).get_vectors())  # warm up imports
    t0 = time.perf_counter()
    return_layers, _ = get_graph_node_names(model)
    model_features = create_feature_extractor(model, return_nodes=return_layers)(imgs)

    def calc_rdms(model_features, method="correlation"):
        ds_list = []
        for layer, feats in model_features.items():
            if len(feats.shape) > 2:
                feats = feats.flatten(1)
            ds_list.append(Dataset(feats.detach().numpy(), descriptors=dict(layer=layer)))
        return calc_rdm(ds_list, method=method)

    t1 = time.perf_counter()
    rdms_list = [calc_rdms(model_features, method="euclidean"),
                 calc_rdms({"labels": F.one_hot(labels).float()}, method="euclidean")]
    rdms = rsatoolbox.rdm.concat(rdms_list)
    t2 = time.perf_counter()
    comp = rsatoolbox.rdm.compare(rdms, rdms, method="cosine")
    t3 = time.perf_counter()
    dist = np.nan_to_num(np.arccos(np.clip(comp, -1, 1)), nan=0.0)
    dist = (dist + dist.T) / 2.0
    manifold.MDS(n_components=2, max_iter=1000, n_init=10, normalized_stress="auto", metric="precomputed",
                 init="random", random_state=0).fit_transform(dist)
    t4 = time.perf_counter()
    np.save(args.out, comp)
    # the floor of the RDM stage, after the timed part: one symmetric product per distinct node, same process
    distinct = []
    for feats in model_features.values():
        X = feats.detach().flatten(1).numpy()
        if not any(X.shape == Y.shape and np.array_equal(X, Y) for Y in distinct):
            distinct.append(X)
    t5 = time.perf_counter()
    for X in distinct:
        X @ X.T
    syrk = time.perf_counter() - t5
    return {"seconds": t4 - t0, "features": t1 - t0, "rdms": t2 - t1, "compare": t3 - t2, "mds": t4 - t3,
            "syrk_floor": syrk}


def worker_path_ours(args):
    """repgeom's path: features streamed into a Zarr store, one RDM per distinct node into a cube, streamed compare."""
    import torch
    import zarr

    import sklearn.manifold  # noqa: F401  (imported up front in both ways)

    from repgeom import compare, cubes, features, nodes, paths, rdm, store

    torch.set_num_threads(2)
    model, _ = load_model()
    imgs, labels, _ = load_images(args.n)
    tmp = tempfile.mkdtemp(dir=args.tmpdir)
    fpath, cpath = os.path.join(tmp, "features.zarr"), os.path.join(tmp, "cube.zarr")
    all_nodes = nodes.FEEDFORWARD_NODES
    t0 = time.perf_counter()
    batches = features.iter_features(model, imgs, all_nodes, batch_size=250)
    ids = np.arange(args.n)
    store.write_features_store(fpath, batches, ids, labels, {"nodes": all_nodes}, chunk_rows=250)
    t1 = time.perf_counter()
    fg = zarr.open_group(fpath, mode="r")
    store.write_cube(cpath, ids, labels, all_nodes, cubes.feature_rdms(fg, "euclidean", all_nodes),
                     {"method": "euclidean"})
    t2 = time.perf_counter()
    cube = zarr.open_group(cpath, mode="r")["rdm"]
    layers = [cubes.CubeRows(cube, k) for k in range(len(all_nodes))] + [rdm.labels_rdm(labels, 10, "euclidean")]
    comp = compare.similarity(layers, args.n, "cosine")
    t3 = time.perf_counter()
    paths.embed_mds(paths.similarity_to_distance(comp, "arccos"), seed=0)
    t4 = time.perf_counter()
    np.save(args.out, comp)
    layout = store.NodeLayout.from_attrs(dict(zarr.open_group(fpath).attrs))
    P = {f"{op}({n})" if op else n: zarr.open_group(fpath)[n].shape[1]  # one RDM per (stored array, op)
         for n, op in dict.fromkeys(map(layout.source, all_nodes))}
    import shutil

    shutil.rmtree(tmp)
    return {"seconds": t4 - t0, "features": t1 - t0, "rdms": t2 - t1, "compare": t3 - t2, "mds": t4 - t3,
            "unique_P": P}


def worker_path_streamed(args):
    """repgeom's streamed path: features streamed into a Zarr store, the path straight from it in row blocks
    (no RDM cube, no N x N matrix), MDS."""
    import torch

    import sklearn.manifold  # noqa: F401

    from repgeom import compare, features, nodes, pairstats, paths, store

    torch.set_num_threads(2)
    model, _ = load_model()
    imgs, labels, _ = load_images(args.n)
    tmp = tempfile.mkdtemp(dir=args.tmpdir)
    fpath = os.path.join(tmp, "features.zarr")
    all_nodes = nodes.FEEDFORWARD_NODES
    t0 = time.perf_counter()
    batches = features.iter_features(model, imgs, all_nodes, batch_size=250)
    store.write_features_store(fpath, batches, np.arange(args.n), labels, {"nodes": all_nodes}, chunk_rows=250)
    t1 = time.perf_counter()
    g = store.open_group(fpath)
    rdms = pairstats.feature_sources(g, all_nodes, "euclidean")  # one source per distinct RDM, repeated
    rdms.append(pairstats.LabelsRDM(labels, 10, "euclidean"))
    block = pairstats.choose_block(pairstats.distinct(rdms)[0], args.n, 1.6e9)  # a path job's default budget
    timings = {}
    comp = compare.similarity(rdms, args.n, "cosine", block=block, timings=timings)
    t2 = time.perf_counter()
    paths.embed_mds(paths.similarity_to_distance(comp, "arccos"), seed=0)
    t3 = time.perf_counter()
    np.save(args.out, comp)
    import shutil

    shutil.rmtree(tmp)
    return {"seconds": t3 - t0, "features": t1 - t0, "rdms": timings["blocks"],
            "compare": t2 - t1 - timings["blocks"], "mds": t3 - t2, "block": block}


def worker_path_memory(args):
    """repgeom's engine in one process: features of all nodes held in memory (no stores), one RDM per distinct node."""
    import torch

    import sklearn.manifold  # noqa: F401

    from repgeom import compare, features, nodes, paths, rdm

    torch.set_num_threads(2)
    model, _ = load_model()
    imgs, labels, _ = load_images(args.n)
    all_nodes = nodes.FEEDFORWARD_NODES
    t0 = time.perf_counter()
    feats = features.extract(model, imgs, all_nodes, batch_size=500)
    t1 = time.perf_counter()
    mats = rdm.node_rdms(feats, all_nodes, lambda X: rdm.compute(X, "euclidean"))
    mats.append(rdm.labels_rdm(labels, 10, "euclidean"))
    del feats
    t2 = time.perf_counter()
    comp = compare.similarity(mats, args.n, "cosine")
    t3 = time.perf_counter()
    paths.embed_mds(paths.similarity_to_distance(comp, "arccos"), seed=0)
    t4 = time.perf_counter()
    np.save(args.out, comp)
    return {"seconds": t4 - t0, "features": t1 - t0, "rdms": t2 - t1, "compare": t3 - t2, "mds": t4 - t3}


WORKERS = {"path-memory": worker_path_memory, "rdm-ours": worker_rdm_ours, "rdm-rsatoolbox": worker_rdm_rsatoolbox,
           "path-tutorial": worker_path_tutorial, "path-ours": worker_path_ours, "path-seed": worker_path_seed,
           "path-streamed": worker_path_streamed}


# ---- driver -----------------------------------------------------------------------------------------

def run_worker(name, timeout=3600, **kw):
    """Run a worker in a subprocess; returns its JSON result plus peak RSS (GB), or the reason it failed."""
    out = tempfile.mktemp(suffix=".npy", dir=kw.get("tmpdir"))
    cmd = [sys.executable, __file__, "--worker", name, "--out", out]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t = time.perf_counter()
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return {"failed": f"timed out after {timeout} s"}
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        why = "killed (out of memory?)" if proc.returncode in (-9, 137) else stderr.strip().splitlines()[-1:]
        return {"failed": why}
    res = json.loads(stdout.strip().splitlines()[-1])
    res.update(wall=wall, out=out)
    return res


def _vm_hwm_gb():
    """Peak resident memory of this process (VmHWM: per address space, so not inherited across exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 ** 2
    return float("nan")


def prepare_conv1_features(n, tmpdir):
    import torch

    from repgeom import features

    model, src = load_model()
    imgs, _, note = load_images(n)
    torch.set_num_threads(2)
    X = features.extract(model, imgs, ["conv1"], batch_size=500)["conv1"]
    path = os.path.join(tmpdir, f"conv1_{n}.npy")
    np.save(path, X)
    return path, src, note


def rel_err(a, b):
    return float(np.nanmax(np.abs(a - b)) / np.nanmax(np.abs(b)))


def section_rdms(args):
    print(f"\n== RDMs alone: N={args.n_rdm}, P=21,632 (conv1 of the standard model), float32 features ==")
    fpath, src, note = prepare_conv1_features(args.n_rdm, args.tmpdir)
    print(f"   model: {src}; images: {note}")
    X64 = np.load(fpath).astype(np.float64)
    from repgeom import rdm

    for method in ("correlation", "euclidean"):
        ours = run_worker("rdm-ours", features=fpath, n=args.n_rdm, method=method, tmpdir=args.tmpdir, allocator="tuned")
        theirs = run_worker("rdm-rsatoolbox", features=fpath, n=args.n_rdm, method=method, tmpdir=args.tmpdir)
        truth = rdm.condensed(rdm.compute(X64, method))  # float64; equals rsatoolbox on float64 to 1e-9 (tests)
        a, b = np.load(ours["out"]), np.load(theirs["out"])
        print(f"   {method:11s} repgeom {ours['seconds']:7.2f} s ({ours['peak_gb']:.2f} GB)   "
              f"rsatoolbox {theirs['seconds']:7.2f} s ({theirs['peak_gb']:.2f} GB)   "
              f"speed-up {theirs['seconds'] / ours['seconds']:5.1f}x")
        print(f"   {'':11s} max rel. error vs float64 truth: repgeom {rel_err(a, truth):.1e}, "
              f"rsatoolbox(float32) {rel_err(b, truth):.1e}; repgeom vs rsatoolbox {rel_err(a, b):.1e}")


def _flops(res, n):
    """FLOPs of the symmetric Gram products (BLAS syrk: N(N+1)P multiply-adds... counted as N²P x 2 / 2)."""
    return sum(float(n) * n * p for p in res["unique_P"].values())


def section_path(args):
    n = args.n_path
    print(f"\n== Representational path, standard model, all 13 nodes + labels, euclidean RDMs, cosine: N={n} ==")
    print("   (each in its own process, one after the other; peak = VmHWM of that process)")
    print("   (repgeom's variants run with its steps' allocator settings, steps._shell.tune_allocator; the seed's"
          " code and the cut-down variant as a notebook runs them" +
          (", and again with those settings)" if args.tuned_baselines else ")"))
    baselines = [("the seed's code", "path-seed", "default"), ("the cut-down seed", "path-tutorial", "default")]
    if args.tuned_baselines:
        baselines += [("the seed's code, tuned allocator", "path-seed", "tuned"),
                      ("the cut-down seed, tuned allocator", "path-tutorial", "tuned")]
    bases = [(name, run_worker(worker, n=n, tmpdir=args.tmpdir, allocator=alloc)) for name, worker, alloc in baselines]
    runs = [("repgeom, in memory       ", run_worker("path-memory", n=n, tmpdir=args.tmpdir, allocator="tuned")),
            ("repgeom, stores + cubes  ", run_worker("path-ours", n=n, tmpdir=args.tmpdir, allocator="tuned")),
            ("repgeom, stores, streamed", run_worker("path-streamed", n=n, tmpdir=args.tmpdir, allocator="tuned"))]
    for name, base in bases:
        if "failed" in base:
            print(f"   {name}: FAILED ({base['failed']})")
        elif "rep_path" in base:
            print(f"   {name} (verbatim)        {base['seconds']:6.1f} s, peak {base['peak_gb']:.2f} GB "
                  f"(extract_features {base['features']:.1f}, rep_path {base['rep_path']:.1f} incl. its figure)")
        else:
            print(f"   {name} (no rdms_dict, no figure) {base['seconds']:6.1f} s, peak {base['peak_gb']:.2f} GB "
                  f"(features {base['features']:.1f}, rdms {base['rdms']:.1f}, compare {base['compare']:.1f}, "
                  f"mds {base['mds']:.1f})")
            floor = base["features"] + base["syrk_floor"] + base["compare"] + base["mds"]
            print(f"   floor of this path: its forward pass {base['features']:.1f} + one syrk per distinct node "
                  f"{base['syrk_floor']:.1f} + compare {base['compare']:.1f} + MDS {base['mds']:.1f} = {floor:.1f} s: "
                  f"no implementation can beat this variant by more than {base['seconds'] / floor:.2f}x")
    for label, res in runs:
        if "failed" in res:
            print(f"   {label}: FAILED ({res['failed']})")
            continue
        print(f"   {label}        {res['seconds']:6.1f} s, peak {res['peak_gb']:.2f} GB "
              f"(features {res['features']:.1f}, rdms {res['rdms']:.1f}, compare {res['compare']:.1f}, "
              f"mds {res['mds']:.1f})")
        for name, base in bases:
            if "failed" in base:
                continue
            print(f"      vs {name}: {base['seconds'] / res['seconds']:.2f}x faster, memory "
                  f"{res['peak_gb'] / base['peak_gb']:.2f} of its; comparison matrices differ by at most "
                  f"{np.nanmax(np.abs(np.load(res['out']) - np.load(base['out']))):.1e}")


def section_scaling(args):
    print("\n== repgeom path: growth with N (standard model, 13 nodes + labels) ==")
    print(f"   {'N':>6} {'total s':>8} {'features':>9} {'rdms':>7} {'compare':>8} {'peak GB':>8} {'GFLOP/s':>8} "
          f"{'% of 180':>9}")
    for n in args.sizes:
        res = run_worker("path-ours", n=n, tmpdir=args.tmpdir, allocator="tuned")
        if "failed" in res:
            print(f"   {n:>6} FAILED: {res['failed']}")
            continue
        gflops = _flops(res, n) / res["rdms"] / 1e9
        print(f"   {n:>6} {res['seconds']:8.1f} {res['features']:9.1f} {res['rdms']:7.1f} {res['compare']:8.1f} "
              f"{res['peak_gb']:8.2f} {gflops:8.0f} {100 * gflops / PEAK_GFLOPS:8.0f}%")
    print("   (GFLOP/s = symmetric Gram-product FLOPs (N²P per distinct node) / RDM stage time, which includes"
          " reading features and writing the cube)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sections", default="rdms,path,scaling")
    p.add_argument("--n-rdm", type=int, default=5000)
    p.add_argument("--n-path", type=int, default=2000)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 10000])
    p.add_argument("--tmpdir", default=None)
    p.add_argument("--results", default=None, help="a run's results folder (its standard checkpoint and data)")
    p.add_argument("--tuned-baselines", action="store_true",
                   help="also run the seed's code and the cut-down variant with repgeom's allocator settings")
    # worker arguments
    p.add_argument("--allocator", choices=["default", "tuned"], default="default")
    p.add_argument("--worker")
    p.add_argument("--out")
    p.add_argument("--n", type=int)
    p.add_argument("--method")
    p.add_argument("--features")
    args = p.parse_args()
    if args.worker:
        if args.allocator == "tuned":
            from repgeom.steps._shell import tune_allocator

            tune_allocator()
        res = WORKERS[args.worker](args)
        res["peak_gb"] = _vm_hwm_gb()
        print(json.dumps(res))
        return
    if args.results:
        os.environ["REPGEOM_BENCH_RESULTS"] = os.path.abspath(args.results)
    own_tmp = args.tmpdir is None
    args.tmpdir = args.tmpdir or tempfile.mkdtemp(prefix="repgeom-bench-")
    import threadpoolctl

    blas = [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpoolctl.threadpool_info()]
    print(f"repgeom benchmark on {os.cpu_count()} cores; BLAS {blas}")
    for section in args.sections.split(","):
        {"rdms": section_rdms, "path": section_path, "scaling": section_scaling}[section](args)
    if own_tmp:
        import shutil

        shutil.rmtree(args.tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()

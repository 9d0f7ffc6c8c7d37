"""GPU vs CPU: the all-node representational path of the tutorial's three models at N=10,000, plus equality checks.

Run on a machine with CUDA (and its CPU as the baseline, in the same run):

    python benchmarks/gpu_path.py --n 10000

Needs results/checkpoints/{standard,adversarial,recurrent}.pt and results/data/mnist.npz
(from `make run`). Per model and device it times features (all nodes, held in
memory), one RDM per distinct node (euclidean), the cosine comparison and the
MDS embedding, and checks that CUDA results equal the CPU's within tolerance.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
sys.path.insert(0, HERE)


def sync(device):
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _compare_and_embed(compare, t):
    """Time the RDM comparison and the MDS embedding (the same for both engines); fills ``t``."""
    from repgeom import paths

    t0 = time.perf_counter()
    comp = compare()
    t["compare"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    paths.embed_mds(paths.similarity_to_distance(comp), seed=0)
    t["mds"] = time.perf_counter() - t0
    t["total"] = sum(t.values())
    return comp


def path_on_device(model, images, labels, node_list, device):
    """Everything on the device: features as tensors, RDMs as tensors, comparison accumulated there."""
    import torch

    from repgeom import compare, features, rdm

    t = {}
    t0 = time.perf_counter()
    feats = features.extract_tensors(model, images, node_list, batch_size=1000, device=device)
    sync(device)
    t["features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mats = rdm.node_rdms(feats, node_list, lambda X: rdm.compute(X, "euclidean"))
    onehot = torch.eye(10, device=device)[torch.as_tensor(labels, device=device)]
    mats.append(rdm.compute(onehot, "euclidean"))
    sync(device)
    t["rdms"] = time.perf_counter() - t0
    comp = _compare_and_embed(lambda: compare.similarity(mats, len(labels), "cosine", device=str(device)), t)
    host_feats = {n: v.cpu().numpy() for n, v in feats.items()}
    host_mats = [m.cpu().numpy() for m in mats]
    return comp, host_mats, host_feats, t


def path_of(model, images, labels, node_list, device):
    from repgeom import compare, features, rdm

    t = {}
    t0 = time.perf_counter()
    feats = features.extract(model, images, node_list, batch_size=1000, device=device)
    sync(device)
    t["features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mats = rdm.node_rdms(feats, node_list, lambda X: rdm.compute(X, "euclidean", device=device))
    mats.append(rdm.labels_rdm(labels, 10, "euclidean"))
    sync(device)
    t["rdms"] = time.perf_counter() - t0
    comp = _compare_and_embed(lambda: compare.similarity(mats, len(labels), "cosine"), t)
    return comp, mats, feats, t


def main():
    import torch

    from rdm_paths import load_images
    from repgeom import attacks, checkpoints, mnist, training, weights
    from repgeom.models import MODEL_KINDS, tutorial_build_of, tutorial_kind_of

    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--models", nargs="+", default=["standard", "adversarial", "recurrent"])
    p.add_argument("--out", default=None)
    a = p.parse_args()
    cuda = torch.cuda.is_available()
    devices = (["cuda"] if cuda else []) + ["cpu"]
    gpu = torch.cuda.get_device_name(0) if cuda else "none"
    print(f"TF32 off (repgeom.devices.strict_float32). torch {torch.__version__}, CUDA: {gpu}, "
          f"CPU threads {torch.get_num_threads()}, cores {os.cpu_count()}", flush=True)
    images, labels, note = load_images(a.n)
    print(f"N={a.n}: {note}", flush=True)
    report = {"n": a.n, "images": note, "models": {}}
    for name in a.models:
        model = checkpoints.load_model(f"results/checkpoints/{name}.pt")
        node_list = MODEL_KINDS[tutorial_kind_of(model)].static_nodes({"time_steps": 5} | tutorial_build_of(model))
        res = {}
        outs = {}
        for dev in devices:
            run = path_on_device if dev == "cuda" else path_of
            if dev == "cuda":  # warm-up: CUDA context, cuBLAS/cuDNN handles
                run(model, images[:256], labels[:256], node_list, dev)
            comp, mats, feats, t = run(model, images, labels, node_list, dev)
            outs[dev] = (comp, mats, feats)
            res[dev] = t
            print(f"{name:12s} {dev:5s} " + "  ".join(f"{k} {v:7.2f} s" for k, v in t.items()), flush=True)
        if cuda:
            comp_c, mats_c, feats_c = outs["cpu"]
            comp_g, mats_g, feats_g = outs["cuda"]
            feat_err = max(float(np.max(np.abs(feats_g[k] - feats_c[k])) / (np.max(np.abs(feats_c[k])) + 1e-30))
                           for k in node_list)
            rdm_err = max(float(np.nanmax(np.abs(g - c)) / np.nanmax(np.abs(c))) for g, c in zip(mats_g, mats_c))
            comp_err = float(np.max(np.abs(comp_g - comp_c)))
            res["speedup"] = res["cpu"]["total"] / res["cuda"]["total"]
            res["max_rel_err"] = {"features": feat_err, "rdms": rdm_err, "comparison_abs": comp_err}
            print(f"{name:12s} speed-up {res['speedup']:.1f}x; CUDA vs CPU: features {feat_err:.1e}, "
                  f"RDMs {rdm_err:.1e} (relative to max), comparison {comp_err:.1e} (absolute)", flush=True)
        report["models"][name] = res
        del outs
    if cuda:  # FGSM and a short training run on CUDA vs CPU
        model = checkpoints.load_model("results/checkpoints/standard.pt")
        x, y = images[:500], torch.as_tensor(labels[:500])
        adv_c = attacks.fgsm_normalised(model, x, y, 0.2, mnist.MEAN, mnist.STD)
        adv_g = attacks.fgsm_normalised(model.to("cuda"), x.to("cuda"), y.to("cuda"), 0.2, mnist.MEAN, mnist.STD).cpu()
        diff = (adv_c - adv_g).abs()
        differ = float((diff > 1e-4).float().mean())
        print(f"FGSM eps 0.2 on 500 images, CUDA vs CPU: {differ:.2e} of pixels differ by more than 1e-4 "
              f"(sign flips where the gradient is ~0); median |diff| {float(diff.median()):.1e}")
        report["fgsm_pixels_differing"] = differ
        data = mnist.read("results/data/mnist.npz")
        for dev in ("cuda", "cpu"):
            torch.manual_seed(1)
            t0 = time.perf_counter()
            m, _ = weights.train("feedforward", data.train_images, data.train_labels,
                                 training.Recipe(epochs=2), device=dev)
            dt = time.perf_counter() - t0
            acc, n = training.accuracy(m.cpu(), mnist.normalize(data.test_images), data.test_labels)
            print(f"training standard recipe 2 epochs on {dev}: {dt:.1f} s, held-out accuracy {acc}/{n}")
            report[f"train_{dev}"] = {"seconds": dt, "accuracy": acc / n}
    if a.out:
        with open(a.out, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()

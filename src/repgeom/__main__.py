"""Command-line entry points, one per workflow step: ``python -m repgeom <step> ...``.

Each parses its arguments, reads its inputs, calls the functional core and
writes its outputs atomically.  Heavy imports happen inside the step that
needs them, so a step pays only for what it uses.
"""

import argparse
import json
import logging
import os
import sys

log = logging.getLogger("repgeom")


def _write_json(obj, path):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def _set_threads(n):
    import torch

    if n:
        torch.set_num_threads(int(n))


def _device(name):
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("config says device: cuda, but torch sees no CUDA device")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def cmd_mnist(a):
    from . import mnist

    data = mnist.load(a.source, idx_dir=a.idx_dir, download_dir=a.download_dir,
                      heldout_per_class=a.heldout_per_class, split_seed=a.split_seed)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    mnist.save(data, a.out)
    log.info("MNIST from %s: %d train, %d held-out digits -> %s",
             data.source, len(data.train_labels), len(data.test_labels), a.out)


def cmd_fetch(a):
    from . import download

    os.makedirs(a.outdir, exist_ok=True)
    record = {"url": a.url, "expected_md5": a.md5}
    target = os.path.join(a.outdir, "checkpoint.pth")
    last = [0]

    def progress(got, total):
        if got - last[0] >= 4 << 20 or got == total:
            last[0] = got
            log.info("  %.1f MB%s", got / 1e6, f" of {total / 1e6:.1f} MB" if total else "")

    try:
        log.info("downloading %s", a.url)
        md5, size = download.fetch(a.url, target, a.md5, timeout=a.timeout, progress=progress)
        record.update(status="downloaded", md5=md5, bytes=size)
        log.info("downloaded %d bytes, md5 %s verified", size, md5)
    except download.Unreachable as err:
        if a.on_unreachable != "train":
            raise SystemExit(f"{err} (download.on_unreachable is 'fail')")
        record.update(status="unreachable", error=str(err))
        log.warning("!!! %s: the checkpoint will be TRAINED LOCALLY instead !!!", err)
    _write_json(record, os.path.join(a.outdir, "fetch.json"))


def cmd_checkpoint(a):
    import torch

    from . import attacks, checkpoints, download, mnist, training

    _set_threads(a.threads)
    spec = json.loads(a.spec)
    data = mnist.read(a.data)
    arch = spec["arch"]
    arch_kwargs = {"time_steps": spec.get("time_steps", 5)} if arch == "recurrent" else {}
    record = {"model": a.model, "arch": arch, "arch_kwargs": arch_kwargs, "data": data.record()}
    fetched = None
    if a.fetched:
        with open(os.path.join(a.fetched, "fetch.json")) as f:
            fetched = json.load(f)
    ck = spec.get("checkpoint") or {}
    if fetched and fetched["status"] == "downloaded":
        path = os.path.join(a.fetched, "checkpoint.pth")
        model = checkpoints.load_model(path, arch=arch)
        record.update(source="downloaded", url=fetched["url"], source_md5=fetched["md5"])
    elif ck.get("path"):
        path = ck["path"]
        md5 = download.md5sum(path)
        if ck.get("md5") and md5 != ck["md5"].lower():
            raise SystemExit(f"{path}: md5 {md5} does not match the configured {ck['md5']}")
        model = checkpoints.load_model(path, arch=arch)
        record.update(source="local", path=os.path.abspath(path), source_md5=md5)
    else:
        if "train" not in spec:
            raise SystemExit(f"model {a.model}: the checkpoint could not be had and no train recipe is configured")
        recipe = training.Recipe(**spec["train"])
        why = "train-only model" if not fetched else f"download unreachable: {fetched.get('error')}"
        log.info("training %s (%s, %s) on %d %s digits: %s", a.model, arch, recipe, len(data.train_labels),
                 data.source, why)
        model, history = training.train(arch, data.train_images, data.train_labels, recipe,
                                        arch_kwargs=arch_kwargs, progress=log.info)
        record.update(source="trained", reason=why, recipe=vars(recipe), history=history)
        if fetched:
            record.update(url=fetched["url"], fallback_from="download")
    # held-out metrics
    x = mnist.normalize(data.test_images)
    y = torch.as_tensor(data.test_labels)
    correct, n = training.accuracy(model, x, y)
    adv = attacks.fgsm(model.eval(), x, y, a.fgsm_eps)
    adv_correct, _ = training.accuracy(model, adv, y)
    record["metrics"] = {
        "heldout_accuracy": correct / n, "heldout_correct": correct, "heldout_n": n,
        "fgsm_eps": a.fgsm_eps, "heldout_fgsm_accuracy": adv_correct / n, "heldout_fgsm_correct": adv_correct,
    }
    log.info("%s: held-out accuracy %d/%d = %.4f; self-FGSM eps %.2f: %d/%d = %.4f", a.model, correct, n,
             correct / n, a.fgsm_eps, adv_correct, n, adv_correct / n)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    checkpoints.save_model(model, a.out, meta={"model": a.model, "source": record["source"]})
    record["md5"] = download.md5sum(a.out)
    _write_json(record, a.record)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m repgeom", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("mnist", help="prepare MNIST from the configured source")
    s.add_argument("--source", default="auto")
    s.add_argument("--idx-dir")
    s.add_argument("--download-dir", default="resources/mnist")
    s.add_argument("--heldout-per-class", type=int, default=100)
    s.add_argument("--split-seed", type=int, default=0)
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_mnist)

    s = sub.add_parser("fetch", help="download a checkpoint (md5-checked)")
    s.add_argument("--url", required=True)
    s.add_argument("--md5", required=True)
    s.add_argument("--timeout", type=float, default=15.0)
    s.add_argument("--on-unreachable", choices=["train", "fail"], default="train")
    s.add_argument("--outdir", required=True)
    s.set_defaults(fn=cmd_fetch)

    s = sub.add_parser("checkpoint", help="load (safely) or train a model; write the normalised checkpoint")
    s.add_argument("--model", required=True)
    s.add_argument("--spec", required=True, help="the model's config entry as JSON")
    s.add_argument("--data", required=True)
    s.add_argument("--fetched", help="folder written by 'fetch'")
    s.add_argument("--fgsm-eps", type=float, default=0.2)
    s.add_argument("--threads", type=int, default=0)
    s.add_argument("--out", required=True)
    s.add_argument("--record", required=True)
    s.set_defaults(fn=cmd_checkpoint)

    a = p.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    from .checkpoints import CheckpointRefused
    from .download import DownloadError
    from .mnist import MnistUnavailable

    try:
        a.fn(a)
    except (CheckpointRefused, DownloadError, MnistUnavailable) as err:
        log.error("%s", err)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()

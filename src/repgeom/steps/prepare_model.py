"""Materialise a model: load (safely), download, train or initialise it; trace its nodes; write the normalised checkpoint."""

import json
import os

from ._shell import log, main, read_json, set_threads, torch_device, write_json


def _weights_from(a, spec, kind, build, record, data):
    """(network, torchvision weights enum or None): from the download, a local file, training or a seed."""
    import torch

    from .. import checkpoints, download, training
    from ..models import weights_enum

    fetched = read_json(os.path.join(a.fetched, "fetch.json")) if a.fetched else None
    ck = spec.get("checkpoint") or {}
    weights = weights_enum(spec["builder"], spec["weights"]) if spec.get("weights") else None
    if fetched and fetched["status"] == "downloaded":
        path = os.path.join(a.fetched, fetched.get("file", "checkpoint.pth"))
        net = checkpoints.load_model(path, kind=spec["kind"], build=build)
        record.update(source="downloaded", url=fetched["url"], source_md5=fetched["md5"])
        return net, weights
    if ck.get("path"):
        path = ck["path"]
        if not os.path.isfile(path):
            raise ValueError(f"checkpoint file {path!r} of model {a.model!r} does not exist")
        md5 = download.md5sum(path)
        if ck.get("md5") and md5 != ck["md5"].lower():
            raise ValueError(f"{path}: md5 {md5} does not match the configured {ck['md5']}")
        net = checkpoints.load_model(path, kind=spec["kind"], build=build)
        record.update(source="local", path=os.path.abspath(path), source_md5=md5)
        return net, weights
    if "train" in spec:
        recipe = training.Recipe(**spec["train"])
        why = "train-only model" if not fetched else f"download unreachable: {fetched.get('error')}"
        log.info("training %s (%s, %s) on %d %s digits: %s", a.model, spec["kind"], recipe, len(data.train_labels),
                 data.source, why)
        net, history = training.train(spec["kind"], data.train_images, data.train_labels, recipe, build=build,
                                      progress=log.info, device=torch_device(a.device))
        record.update(source="trained", reason=why, recipe=vars(recipe), history=history)
        if fetched:
            record.update(url=fetched["url"], fallback_from="download")
        return net, weights
    if fetched:
        raise ValueError(f"model {a.model}: the checkpoint could not be downloaded and no train recipe is configured")
    torch.manual_seed(int(spec.get("init_seed", 0)))
    net = kind.build(build).eval()
    record.update(source="initialised", init_seed=int(spec.get("init_seed", 0)),
                  reason="no weights configured: random initialisation")
    log.info("%s: randomly initialised %s (seed %d)", a.model, build, spec.get("init_seed", 0))
    return net, weights


def _heldout_metrics(network, data, eps):
    """Accuracy on the MNIST held-out split, clean and under FGSM against the model itself (pixel space)."""
    import torch

    from .. import attacks, mnist, training

    x = torch.from_numpy(mnist.pixels(data.test_images))
    y = torch.as_tensor(data.test_labels)
    correct, n = training.accuracy(network, x, y)
    adv = attacks.fgsm(network.eval(), x, y, eps)
    adv_correct, _ = training.accuracy(network, adv, y)
    return {"heldout_accuracy": correct / n, "heldout_correct": correct, "heldout_n": n, "fgsm_eps": eps,
            "heldout_fgsm_accuracy": adv_correct / n, "heldout_fgsm_correct": adv_correct}


def run(a):
    import torch

    from .. import checkpoints, download, mnist, networks, preprocess
    from ..models import MODEL_KINDS

    set_threads(a.threads)
    spec = json.loads(a.spec)
    kind = MODEL_KINDS[spec["kind"]]
    build = kind.build_spec(spec)
    record = {"model": a.model, "kind": spec["kind"], "build": build, "label_space": kind.label_space(spec)}
    data = mnist.read(a.data) if a.data else None
    record["torch_threads"] = torch.get_num_threads()  # fixed by the plan, not by Snakemake's allotment
    if data is not None:
        record["data"] = data.record()
    net, weights = _weights_from(a, spec, kind, build, record, data)
    net = net.cpu().eval()
    record["preprocess"] = kind.preprocess(spec, weights)
    channels, height, width = preprocess.input_shape(record["preprocess"])
    sample = preprocess.build(record["preprocess"])(torch.rand(2, channels, height, width,
                                                                generator=torch.Generator().manual_seed(0)))
    record["manifest"] = networks.manifest(net, sample, kind.layers)
    planned = kind.static_nodes(spec)
    if planned is not None and record["manifest"]["nodes"] != planned:
        raise RuntimeError(f"traced nodes {record['manifest']['nodes']} differ from the planned {planned}")
    log.info("%s: %d nodes (%s), layers %s", a.model, len(record["manifest"]["nodes"]), record["manifest"]["tracer"],
             record["manifest"]["layers"])
    if data is not None and record["label_space"] == "mnist":
        m = _heldout_metrics(preprocess.network(net, record["preprocess"]), data, a.fgsm_eps)
        record["metrics"] = m
        log.info("%s: held-out accuracy %d/%d = %.4f; self-FGSM eps %.2f: %d/%d = %.4f", a.model,
                 m["heldout_correct"], m["heldout_n"], m["heldout_accuracy"], a.fgsm_eps, m["heldout_fgsm_correct"],
                 m["heldout_n"], m["heldout_fgsm_accuracy"])
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    checkpoints.save_model(net, a.out, kind=spec["kind"], build=build,
                           meta={"model": a.model, "source": record["source"]})
    record["md5"] = download.md5sum(a.out)
    write_json(record, a.record)


def add_arguments(p):
    p.add_argument("--model", required=True)
    p.add_argument("--spec", required=True, help="the model's config entry as JSON")
    p.add_argument("--data", help="MNIST npz (tutorial kinds: training and held-out metrics)")
    p.add_argument("--fetched", help="folder written by 'fetch'")
    p.add_argument("--fgsm-eps", type=float, default=0.2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True)
    p.add_argument("--record", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

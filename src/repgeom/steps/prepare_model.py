"""Materialise a model: its weights from the first source that applies (repgeom.weights), its nodes traced,
its held-out metrics where its label space has a held-out split; the normalised checkpoint and its record."""

import json
import os

from .. import download, mnist, preprocess, training, weights
from ..devices import set_threads, torch_device
from ..models import MODEL_KINDS
from ._shell import log, main, read_json, write_json


def run(a):
    import torch  # these import torch (~2.5 s): every model job needs it, --help does not

    from .. import checkpoints, networks

    set_threads(a.threads)
    spec = json.loads(a.spec)
    kind = MODEL_KINDS[spec["kind"]]
    build = kind.build_spec(spec)
    record = {"model": a.model, "kind": spec["kind"], "build": build, "label_space": kind.label_space(spec)}
    data = mnist.read(a.data) if a.data else None
    record["torch_threads"] = torch.get_num_threads()  # fixed by the plan, not by Snakemake's allotment
    if data is not None:
        record["data"] = data.record()
    fetched = read_json(os.path.join(a.fetched, "fetch.json")) if a.fetched else None
    net = weights.obtain(a.model, spec, fetched, a.fetched, data, record, progress=log.info,
                         device=torch_device(a.device)).cpu().eval()
    record["preprocess"] = kind.preprocess(spec)
    channels, height, width = preprocess.input_shape(record["preprocess"])
    sample = preprocess.build(record["preprocess"])(torch.rand(2, channels, height, width,
                                                                generator=torch.Generator().manual_seed(0)))
    record["manifest"] = networks.manifest(net, sample, kind.layers)
    planned = kind.static_nodes(spec)
    if planned is not None and record["manifest"]["nodes"] != planned:
        raise RuntimeError(f"traced nodes {record['manifest']['nodes']} differ from the planned {planned}")
    log.info("%s: %d nodes (%s), layers %s", a.model, len(record["manifest"]["nodes"]), record["manifest"]["tracer"],
             record["manifest"]["layers"])
    if data is not None and kind.evaluated_heldout(spec):
        m = training.heldout_metrics(preprocess.network(net, record["preprocess"]), mnist.pixels(data.test_images),
                                     data.test_labels, a.fgsm_eps)
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
    p.add_argument("--data", help="MNIST npz (training; held-out metrics)")
    p.add_argument("--fetched", help="folder written by 'fetch'")
    p.add_argument("--fgsm-eps", type=float, default=0.2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True)
    p.add_argument("--record", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

"""Per-node activations of a model on a stimulus set (through the model's preprocessing), streamed into Zarr."""

import json

from .. import features, preprocess, store
from .. import nodes as nodes_mod
from ..checkpoints import load_checkpoint
from ..devices import set_threads, torch_device
from ._shell import log, main, provenance


def run(a):
    set_threads(a.threads)
    model, record = load_checkpoint(a.checkpoint, a.record)
    g = store.open_group(a.stimuli)
    stim_attrs = dict(g.attrs)
    nodes = nodes_mod.resolve(record["manifest"], json.loads(a.nodes), record["model"])
    attrs = {**store.model_provenance(record), **store.stimulus_provenance(stim_attrs), "nodes": nodes,
             "preprocess": record["preprocess"], **provenance()}
    batches = features.iter_features(model, g["images"][:], nodes, a.batch_size, torch_device(a.device),
                                     preprocess=preprocess.build(record["preprocess"]),
                                     tracer=record["manifest"]["tracer"])
    stored, layout = store.write_features_store(a.out, batches, g["stim"][:], g["label"][:], attrs,
                                                a.batch_size, progress=log.info)
    log.info("%s on %s: %d nodes (%d stored, aliases %s, derived %s)", record["model"], attrs["stimulus_set"],
             len(nodes), len(stored), layout.aliases, {n: f"{op}({s})" for n, (s, op) in layout.derived.items()})


def add_arguments(p):
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--stimuli", required=True)
    p.add_argument("--nodes", default='"all"')
    p.add_argument("--batch-size", type=int, default=250)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

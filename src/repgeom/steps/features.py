"""Per-node activations of a model on a stimulus set, streamed into a Zarr store."""

import json

from ._shell import load_checkpoint, log, main, provenance, set_threads, torch_device


def run(a):
    import xarray as xr

    from .. import features, store

    set_threads(a.threads)
    model, record = load_checkpoint(a.checkpoint, a.record)
    stim = xr.open_zarr(a.stimuli)
    nodes = features.select_nodes(model, json.loads(a.nodes))
    attrs = {"model": record["model"], "arch": record["arch"], "checkpoint_md5": record["md5"],
             "checkpoint_source": record["source"], "stimulus_set": stim.attrs["stimulus_set"],
             "stimuli": dict(stim.attrs), "nodes": nodes, **provenance()}
    batches = features.iter_features(model, stim["images"].values, nodes, a.batch_size, torch_device(a.device))
    stored, aliases = store.write_features_store(a.out, batches, stim["stim"].values, stim["label"].values, attrs,
                                                 a.batch_size, progress=log.info)
    log.info("%s on %s: %d nodes (%d stored, aliases %s)", record["model"], attrs["stimulus_set"], len(nodes),
             len(stored), aliases)


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

"""Per-node activations of a model on a stimulus set."""

import json

from ._shell import log, main, set_threads, torch_device, provenance, load_checkpoint


def run(a):
    import numpy as np
    import xarray as xr

    from .. import features, store

    set_threads(a.threads)
    model, record = load_checkpoint(a.checkpoint, a.record)
    stim = xr.open_zarr(a.stimuli)
    nodes = features.select_nodes(model, json.loads(a.nodes))
    n = stim.sizes["stim"]
    images = stim["images"].values
    device = torch_device(a.device)
    attrs = {"model": record["model"], "arch": record["arch"], "checkpoint_md5": record["md5"],
             "checkpoint_source": record["source"], "stimulus_set": stim.attrs["stimulus_set"],
             "stimuli": dict(stim.attrs), "nodes": nodes, **provenance()}
    with store.atomic_dir(a.out) as tmp:
        store.create_coords(tmp, {"stim": stim["stim"].values, "label": ("stim", stim["label"].values)}, attrs)
        arrays = {}
        for start, feats, aliases, shapes in features.iter_features(model, images, nodes, a.batch_size, device):
            if not arrays:
                for node, v in feats.items():
                    arrays[node] = store.add_array(tmp, node, (n, v.shape[1]), (min(a.batch_size, n), v.shape[1]),
                                                   ("stim", f"{node}/unit"), attrs={"shape": shapes[node]})
                import zarr
                g = zarr.open_group(tmp, mode="r+")
                g.attrs.update(store.jsonable({"aliases": aliases, "shapes": shapes}))
            for node, v in feats.items():
                arrays[node][start:start + len(v)] = v
            log.info("features: %d / %d images", min(start + a.batch_size, n), n)
        store.consolidate(tmp)
    log.info("%s on %s: %d nodes (%d stored, aliases %s)", record["model"], attrs["stimulus_set"], len(nodes),
             len(arrays), aliases)


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

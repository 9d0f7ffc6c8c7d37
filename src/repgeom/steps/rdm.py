"""RDM cube (layer x stim x stim) from a features store."""

import json

from ._shell import log, main, light_device, provenance


def run(a):
    import numpy as np

    from .. import rdm, store

    g = store.open_group(a.features)
    fattrs = dict(g.attrs)
    aliases = fattrs.get("aliases", {})
    nodes = json.loads(a.nodes)
    missing = [n for n in nodes if n not in fattrs["nodes"]]
    if missing:
        raise SystemExit(f"nodes {missing} are not in {a.features} (it has {fattrs['nodes']})")
    ids = np.asarray(g["stim"][:])
    labels = np.asarray(g["label"][:])
    n = len(ids)
    device = light_device(a.device)
    stim_attrs = fattrs["stimuli"]
    attrs = {"method": a.method, "model": fattrs["model"], "arch": fattrs["arch"],
             "checkpoint_md5": fattrs["checkpoint_md5"], "checkpoint_source": fattrs["checkpoint_source"],
             "stimulus_set": fattrs["stimulus_set"], "stimulus_spec": stim_attrs.get("spec"),
             "eps": stim_attrs.get("eps", 0.0), "attacked_model": stim_attrs.get("attacked_model", ""),
             "data_source": stim_attrs.get("data", {}).get("source"), "aliases": aliases,
             "description": ("rsatoolbox semantics: euclidean = squared Euclidean distance / channels; "
                             "correlation = 1 - Pearson r"), **provenance()}
    chunk = min(n, a.chunk)
    done = {}
    with store.atomic_dir(a.out) as tmp:
        coords = {"layer": np.array(nodes, dtype=object), "stim_i": ids, "stim_j": ids.copy(),
                  "label_i": ("stim_i", labels), "label_j": ("stim_j", labels)}
        store.create_coords(tmp, coords, attrs)
        cube = store.add_array(tmp, "rdm", (len(nodes), n, n), (1, chunk, chunk), ("layer", "stim_i", "stim_j"),
                               attrs={"long_name": f"{a.method} dissimilarity"})
        for k, node in enumerate(nodes):
            source = aliases.get(node, node)
            if source not in done:
                X = np.asarray(g[source][:])
                done = {source: rdm.compute(X, a.method, block=a.block, device=device)}
                log.info("rdm %s %s: %s (P=%d)", a.method, fattrs["model"], node, X.shape[1])
            else:
                log.info("rdm %s %s: %s = %s (identical activations)", a.method, fattrs["model"], node, source)
            cube[k] = done[source]
        store.consolidate(tmp)


def add_arguments(p):
    p.add_argument("--features", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--nodes", required=True)
    p.add_argument("--block", type=int, default=2048)
    p.add_argument("--chunk", type=int, default=2500)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

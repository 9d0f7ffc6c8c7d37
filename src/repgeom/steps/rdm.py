"""RDM cube (layer x stim_i x stim_j) from a features store."""

import json

from ._shell import light_device, log, main, provenance


def run(a):
    from .. import store

    fattrs = store.read_attrs(a.features)
    stim_attrs = fattrs["stimuli"]
    attrs = {"method": a.method, "model": fattrs["model"], "arch": fattrs["arch"],
             "checkpoint_md5": fattrs["checkpoint_md5"], "checkpoint_source": fattrs["checkpoint_source"],
             "stimulus_set": fattrs["stimulus_set"], "stimulus_spec": stim_attrs.get("spec"),
             "eps": stim_attrs.get("eps", 0.0), "attacked_model": stim_attrs.get("attacked_model", ""),
             "data_source": stim_attrs.get("data", {}).get("source"),
             "description": ("rsatoolbox semantics: euclidean = squared Euclidean distance / channels; "
                             "correlation = 1 - Pearson r"), **provenance()}
    store.write_rdm_cube(a.out, a.features, a.method, json.loads(a.nodes), attrs, block=a.block, chunk=a.chunk,
                         device=light_device(a.device), progress=log.info)


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

"""RDM cube (layer x stim_i x stim_j) of a model's features on a stimulus set."""

import json
import os

from .. import cubes, store
from ..devices import light_device
from ..rdm import resolve_method
from ._shell import log, main, provenance


def run(a):
    g = store.open_group(a.features)
    fattrs = dict(g.attrs)
    nodes = json.loads(a.nodes)
    attrs = {"method": a.method, "source_kind": "model", **store.model_provenance(fattrs),
             **store.stimulus_provenance(fattrs), "aliases": fattrs.get("aliases", {}),
             "derived": fattrs.get("derived", {}),
             "description": resolve_method(a.method).description,
             "blas_threads": int(os.environ.get("OPENBLAS_NUM_THREADS") or 0) or None, **provenance()}
    labels = g["label"][:]
    separability = {}
    matrices = cubes.with_separability(
        cubes.feature_rdms(g, a.method, nodes, block=a.block, device=light_device(a.device), progress=log.info),
        labels, separability, nodes)
    store.write_cube(a.out, g["stim"][:], labels, nodes, matrices, attrs, chunk=a.chunk,
                     long_name=f"{a.method} dissimilarity", per_layer={"separability": separability})
    log.info("separability: %s", ", ".join(f"{k} {v:.2f}" for k, v in separability.items()))


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

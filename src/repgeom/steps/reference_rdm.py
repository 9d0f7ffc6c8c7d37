"""Import reference RDMs (brain, behaviour, ...) aligned to a stimulus set by id, as a cube (RDMs, then their mean)."""

import json

from .. import references, store
from ._shell import log, main, provenance


def run(a):
    spec = json.loads(a.spec)
    g = store.open_group(a.stimuli)
    sattrs = dict(g.attrs)
    rdms, names, ids = references.read(spec)
    aligned = references.align(rdms, ids, g["stim"][:], where=f"reference {a.name} ({spec['path']})")
    layers, matrices = references.cube_layers(aligned, names)
    attrs = {"source_kind": "reference", "model": a.name, "reference": a.name, "method": "reference",
             "reference_spec": spec, "reference_format": references.format_of(spec),
             "reference_sha256": references.file_digest(spec["path"]), "n_rdms": len(names),
             **store.stimulus_provenance(sattrs), **provenance()}
    store.write_cube(a.out, g["stim"][:], g["label"][:], layers, iter(matrices), attrs,
                     long_name=f"reference dissimilarity ({a.name})")
    log.info("reference %s on %s: %d RDM(s) %s, aligned to %d stimuli", a.name, sattrs["stimulus_set"], len(names),
             names, len(ids))


def add_arguments(p):
    p.add_argument("--name", required=True)
    p.add_argument("--spec", required=True)
    p.add_argument("--stimuli", required=True)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

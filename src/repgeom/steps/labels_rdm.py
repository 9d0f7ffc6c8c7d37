"""The labels RDM of a stimulus set (one-hot over the set's classes) as a one-layer cube."""

from .. import cubes, store
from ..rdm import resolve_method
from ._shell import log, main, provenance


def run(a):
    g = store.open_group(a.stimuli)
    sattrs = dict(g.attrs)
    classes = list(sattrs["classes"])
    attrs = {"method": a.method, "source_kind": "labels", "model": "labels", **store.stimulus_provenance(sattrs),
             "description": f"one-hot labels over {len(classes)} classes; {resolve_method(a.method).description}",
             **provenance()}
    labels = g["label"][:]
    store.write_cube(a.out, g["stim"][:], labels, ["labels"], cubes.labels_rdms(labels, classes, a.method), attrs,
                     long_name=f"{a.method} dissimilarity of one-hot labels")
    log.info("labels RDM of %s: %d stimuli, %d classes", sattrs["stimulus_set"], len(labels), len(classes))


def add_arguments(p):
    p.add_argument("--stimuli", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

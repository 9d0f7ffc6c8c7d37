"""Compute one analysis entry (any registered section: paths, path_comparisons, dimreduction, ...)."""

import json

from .. import store
from ..analyses import ANALYSES
from ._shell import log, main, provenance, write_json


def run(a):
    kind = ANALYSES[a.section]
    job = json.loads(a.spec)
    ds, record = kind.compute(job, a.inputs)
    ds.attrs.update(store.jsonable({"section": a.section, **provenance()}))
    store.write_dataset(ds, a.out)
    write_json(record, a.metrics)
    log.info("%s %s: %s", a.section, record.get("analysis") or record.get("comparison"),
             {k: v for k, v in record.items() if k not in ("models", "entries", "definition", "silhouette")})


def add_arguments(p):
    p.add_argument("--section", required=True)
    p.add_argument("--spec", required=True, help="the analysis job (JSON, from repgeom.plan)")
    p.add_argument("--inputs", nargs="*", default=[])
    p.add_argument("--out", required=True)
    p.add_argument("--metrics", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

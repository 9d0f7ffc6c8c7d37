"""Gather every number of a run into one tidy table: cube separability per RDM request, every analysis' metrics."""

import csv
import json
import os

from .. import metrics
from ..analyses import row_makers
from ..cubes import Cube
from ._shell import log, main


def run(a):
    records = []
    for request, cube_path, layers in json.loads(a.rdm_figures):
        cube = Cube(cube_path)
        records.append(metrics.separability_record(request, cube.attrs, cube.separability, layers))
    for path in a.metrics:
        with open(path) as f:
            records.append(json.load(f))
    rows = metrics.summary_rows(records, row_makers())
    tmp = a.out + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=metrics.SUMMARY_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, a.out)
    log.info("%d rows from %d metrics records", len(rows), len(records))


def add_arguments(p):
    p.add_argument("--rdm-figures", default="[]", help="JSON: [request, cube, layers] per RDM figure")
    p.add_argument("--cubes", nargs="*", default=[], help="the cubes named there (inputs)")
    p.add_argument("--metrics", nargs="*", default=[], help="analysis metrics JSON files")
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

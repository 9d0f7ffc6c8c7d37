"""Gather every metrics file of a run into one tidy table (the tutorial's statements as numbers)."""

from ._shell import log, main


def run(a):
    import csv
    import json
    import os

    from .. import metrics

    records = []
    for path in a.metrics:
        with open(path) as f:
            records.append(json.load(f))
    rows = metrics.summary_rows(records)
    tmp = a.out + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=metrics.SUMMARY_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, a.out)
    log.info("%d rows from %d metrics files", len(rows), len(records))


def add_arguments(p):
    p.add_argument("--metrics", nargs="+", required=True, help="metrics JSON files")
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

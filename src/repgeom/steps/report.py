"""Write the run's report: results/report.html."""

import json

from .. import report
from ._shell import log, main


def run(a):
    page = report.build(json.loads(a.layout), a.results, json.loads(a.info), a.out)
    log.info("wrote %s (%.1f MB)", a.out, len(page) / 1e6)


def add_arguments(p):
    p.add_argument("--layout", required=True)
    p.add_argument("--info", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

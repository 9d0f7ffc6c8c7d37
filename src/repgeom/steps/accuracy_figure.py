"""Bar chart of the accuracy table."""

import os

from ._shell import main


def run(a):
    import pandas as pd

    from .. import figures

    fig = figures.accuracy_chart(pd.read_csv(a.table))
    tmp = f"{a.out}.tmp.png"
    fig.savefig(tmp, dpi=150, bbox_inches="tight")
    os.replace(tmp, a.out)


def add_arguments(p):
    p.add_argument("--table", required=True)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

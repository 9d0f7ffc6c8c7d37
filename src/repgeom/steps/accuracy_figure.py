"""Bar chart of the accuracy table."""

import json

from .. import figures
from ._shell import main, save_figure


def run(a):
    import pandas as pd


    fig = figures.accuracy_chart(pd.read_csv(a.table), display=json.loads(a.display))
    save_figure(fig, a.out, dpi=150)


def add_arguments(p):
    p.add_argument("--table", required=True)
    p.add_argument("--display", default="{}")
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

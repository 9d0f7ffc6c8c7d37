"""Draw one analysis entry's figure from its store (labels and colours from the display settings)."""

import json

from ..analyses import ANALYSES
from ..figures import FIGURES
from ..store import open_dataset
from ._shell import log, main, save_figure


def run(a):
    draw = FIGURES[a.section] if a.section in FIGURES else ANALYSES[a.section].draw
    fig = draw(open_dataset(a.store), json.loads(a.display))
    save_figure(fig, a.out, dpi=a.dpi)
    log.info("wrote %s", a.out)


def add_arguments(p):
    p.add_argument("--section", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--display", default="{}")
    p.add_argument("--dpi", type=int, default=150)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

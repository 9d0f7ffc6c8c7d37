"""RDM panels of some layers of a cube (the tutorial's plot_rdms), titled with their category separability."""

import json

from .. import figures
from ..cubes import Cube
from ._shell import log, main, save_figure


def run(a):
    layers = json.loads(a.nodes)
    cube = Cube(a.cube)
    fig = figures.rdm_panels(cube, layers, display=json.loads(a.display))
    save_figure(fig, a.out, dpi=150)
    log.info("%s %s on %s: separability %s", a.request, cube.attrs["model"], cube.attrs["stimulus_set"],
             ", ".join(f"{k} {cube.separability[k]:.2f}" for k in layers))


def add_arguments(p):
    p.add_argument("--request", required=True)
    p.add_argument("--cube", required=True)
    p.add_argument("--nodes", required=True)
    p.add_argument("--display", default="{}")
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

"""Draw a representational path (distance matrix + 2-D path) from its store."""

from ._shell import log, main


def run(a):
    import os

    import xarray as xr

    from .. import figures

    fig = figures.path_figure(xr.open_zarr(a.path))
    tmp = f"{a.out}.tmp.png"
    fig.savefig(tmp, dpi=a.dpi, bbox_inches="tight")
    os.replace(tmp, a.out)
    log.info("wrote %s", a.out)


def add_arguments(p):
    p.add_argument("--path", required=True)
    p.add_argument("--dpi", type=int, default=150)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

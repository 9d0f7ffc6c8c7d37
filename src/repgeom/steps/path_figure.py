"""Draw a representational path (distance matrix + 2-D path) from its store."""

from ._shell import log, main, save_figure


def run(a):
    import xarray as xr

    from .. import figures

    fig = figures.path_figure(xr.open_zarr(a.path))
    save_figure(fig, a.out, dpi=a.dpi)
    log.info("wrote %s", a.out)


def add_arguments(p):
    p.add_argument("--path", required=True)
    p.add_argument("--dpi", type=int, default=150)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

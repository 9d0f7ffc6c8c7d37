"""RDM panels of some layers of a cube (the tutorial's plot_rdms) and their category-separability indices."""

import json

from ._shell import log, main, save_figure, write_json


def run(a):
    import xarray as xr

    from .. import figures, metrics

    cube = xr.open_zarr(a.cube)
    layers = json.loads(a.nodes)
    labels = cube.label_i.values
    sep = {layer: metrics.separability(cube.rdm.sel(layer=layer).values, labels) for layer in layers}
    record = {"kind": "rdm_separability", "request": a.request, "model": cube.attrs["model"],
              "stimulus_set": cube.attrs["stimulus_set"], "layers": layers,
              "method": cube.attrs["method"], "eps": cube.attrs.get("eps", 0.0),
              "separability": sep,
              "definition": "mean between-class / mean within-class dissimilarity (off-diagonal entries)"}
    write_json(record, a.metrics)
    fig = figures.rdm_panels(cube, layers, separability=sep)
    save_figure(fig, a.out, dpi=150)
    log.info("%s %s on %s: separability %s", a.request, record["model"], record["stimulus_set"],
             ", ".join(f"{k} {v:.2f}" for k, v in sep.items()))


def add_arguments(p):
    p.add_argument("--request", required=True)
    p.add_argument("--cube", required=True)
    p.add_argument("--nodes", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

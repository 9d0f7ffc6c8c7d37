"""A dimensionality-reduction analysis: its embeddings gathered into one store and drawn as the tutorial's grid."""

import json

from ._shell import main, provenance, save_figure


def run(a):
    import numpy as np
    import xarray as xr

    from .. import figures, store

    spec = json.loads(a.spec)
    parts = [xr.open_zarr(path).sel(layer=spec["nodes"]) for path in a.embeddings]
    first = parts[0]
    attrs = {"analysis": a.analysis, "model": first.attrs["model"], "stimulus_set": first.attrs["stimulus_set"],
             "seed": spec["seed"], "perplexity": spec["perplexity"], **provenance()}
    ds = xr.Dataset(
        {"embedding": (("reduction", "layer", "stim", "dim"), np.stack([p.embedding.values for p in parts]))},
        coords={"reduction": np.array(spec["methods"], dtype=object), "layer": np.array(spec["nodes"], dtype=object),
                "stim": first.stim.values, "label": ("stim", first.label.values), "dim": first.dim.values},
        attrs=store.jsonable(attrs))
    store.write_dataset(ds, a.out)
    save_figure(figures.dimreduction_grid(ds), a.figure, dpi=130)


def add_arguments(p):
    p.add_argument("--analysis", required=True)
    p.add_argument("--spec", required=True)
    p.add_argument("--embeddings", nargs="+", required=True, help="one store per method, in the analysis' order")
    p.add_argument("--out", required=True)
    p.add_argument("--figure", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

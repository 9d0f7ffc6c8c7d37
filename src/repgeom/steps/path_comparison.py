"""Align two representational paths over the same entries by orthogonal Procrustes; report their disparity."""

from ._shell import log, main, save_figure, write_json


def run(a):
    import numpy as np
    import xarray as xr

    from .. import figures, paths

    ref, other = xr.open_zarr(a.reference), xr.open_zarr(a.other)
    key = lambda ds: [f"{m}/{l}" for m, l in zip(ds.model.values, ds.layer.values)]  # noqa: E731
    if key(ref) != key(other):
        raise ValueError(f"{a.reference} and {a.other} have different entries; only paths over the same "
                         f"models and layers can be aligned")
    aligned, disparity = paths.procrustes_align(ref.embedding.values, other.embedding.values)
    record = {"kind": "path_comparison", "comparison": a.name,
              "reference": ref.attrs["analysis"], "other": other.attrs["analysis"],
              "procrustes_disparity": disparity,
              "definition": "scipy.spatial.procrustes disparity of the 2-D embeddings after optimal "
                            "translation, scaling, rotation and reflection (0 = same shape)",
              "distance_matrix_correlation": float(np.corrcoef(
                  ref.distance.values[np.triu_indices(ref.sizes["entry"], 1)],
                  other.distance.values[np.triu_indices(other.sizes["entry"], 1)])[0, 1]),
              "entries": key(ref)}
    write_json(record, a.metrics)
    fig = figures.aligned_paths_figure(ref, other, aligned, disparity)
    save_figure(fig, a.out, dpi=150)
    log.info("%s: Procrustes disparity %.4f", a.name, disparity)


def add_arguments(p):
    p.add_argument("--name", required=True)
    p.add_argument("--reference", required=True)
    p.add_argument("--other", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

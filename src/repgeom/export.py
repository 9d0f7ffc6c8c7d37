"""Hand artifacts to other tools: an RDM cube as an ``rsatoolbox.rdm.RDMs`` for rsatoolbox inference."""

import numpy as np


def to_rsatoolbox(cube):
    """RDMs (one per layer) from an RDM cube (a path, an xarray Dataset, or its ``rdm`` DataArray).

    Layer names become the ``layer`` rdm descriptor; stimulus ids and labels
    become the ``stim`` and ``label`` pattern descriptors.
    """
    import xarray as xr
    from rsatoolbox.rdm import RDMs

    if isinstance(cube, str):
        cube = xr.open_zarr(cube)
    da = cube["rdm"] if isinstance(cube, xr.Dataset) else cube
    attrs = dict(cube.attrs) if isinstance(cube, xr.Dataset) else dict(da.attrs)
    mats = np.asarray(da.values, dtype=np.float64)
    return RDMs(
        dissimilarities=mats,
        dissimilarity_measure=attrs.get("method", "unknown"),
        rdm_descriptors={"layer": [str(v) for v in da["layer"].values],
                         "model": [attrs.get("model", "")] * mats.shape[0]},
        pattern_descriptors={"stim": [v.item() if hasattr(v, "item") else str(v) for v in da["stim_i"].values],
                             "label": [int(v) for v in da["label_i"].values]},
    )

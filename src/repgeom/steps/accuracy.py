"""Accuracy of every model on every stimulus set."""

import os

from ._shell import log, main, set_threads, load_checkpoint


def run(a):
    import csv

    import numpy as np
    import torch
    import xarray as xr

    from .. import training

    set_threads(a.threads)
    rows = []
    models = {}
    for ck, rec in zip(a.checkpoints, a.records):
        model, record = load_checkpoint(ck, rec)
        models[record["model"]] = model
    for path in a.stimuli:
        ds = xr.open_zarr(path)
        x = torch.from_numpy(ds["images"].values)
        y = torch.from_numpy(ds["label"].values.astype(np.int64))
        for name, model in models.items():
            correct, n = training.accuracy(model, x, y)
            rows.append({"model": name, "stimulus_set": ds.attrs["stimulus_set"], "kind": ds.attrs["kind"],
                         "attacked_model": ds.attrs.get("attacked_model", ""), "eps": ds.attrs.get("eps", 0.0),
                         "correct": correct, "n": n, "accuracy": correct / n})
            log.info("%-12s on %-22s accuracy = %d / %d = %.4f", name, ds.attrs["stimulus_set"], correct, n,
                     correct / n)
    tmp = a.out + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, a.out)


def add_arguments(p):
    p.add_argument("--checkpoints", nargs="+", required=True)
    p.add_argument("--records", nargs="+", required=True)
    p.add_argument("--stimuli", nargs="+", required=True)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

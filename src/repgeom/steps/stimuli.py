"""Write a stimulus set (clean or FGSM)."""

import json

from ._shell import log, main, set_threads, torch_device, provenance, load_checkpoint


def run(a):
    import numpy as np
    import xarray as xr

    from .. import mnist, stimuli, store

    spec = json.loads(a.spec)
    attrs = {"stimulus_set": a.set, "kind": spec["kind"], "spec": spec, **provenance()}
    if spec["kind"] == "fgsm":
        import torch

        from .. import attacks

        set_threads(a.threads)
        base = xr.open_zarr(a.base)
        model, record = load_checkpoint(a.checkpoint, a.record)
        device = torch_device(a.device)
        model = model.to(device).eval()
        x = torch.from_numpy(base["images"].values).to(device)
        y = torch.from_numpy(base["label"].values.astype(np.int64)).to(device)
        images = attacks.fgsm(model, x, y, spec["eps"]).cpu().numpy()
        labels, ids = base["label"].values, base["stim"].values
        attrs.update(eps=spec["eps"], attacked_model=spec["model"], attacked_checkpoint_md5=record["md5"],
                     base_set=spec["base"], data=base.attrs["data"])
        log.info("FGSM eps %g against %s on %d images of %s", spec["eps"], spec["model"], len(ids), spec["base"])
    else:
        data = mnist.read(a.data)
        idx = stimuli.select(spec, data.test_labels)
        images = mnist.normalize_array(data.test_images[idx])
        labels, ids = data.test_labels[idx], idx
        attrs.update(data=data.record(), eps=0.0)
        log.info("%s: %d held-out digits (%s)", a.set, len(idx), spec)
    ds = xr.Dataset(
        {"images": (("stim", "channel", "y", "x"), images.astype(np.float32),
                    {"description": "normalised as the tutorial: (pixel/255 - 0.1307) / 0.3081"})},
        coords={"stim": ("stim", np.asarray(ids, dtype=np.int64),
                         {"description": "index of the digit in the held-out split"}),
                "label": ("stim", np.asarray(labels, dtype=np.int64))},
        attrs=store.jsonable(attrs),
    )
    store.write_dataset(ds, a.out)


def add_arguments(p):
    p.add_argument("--set", required=True)
    p.add_argument("--spec", required=True)
    p.add_argument("--data")
    p.add_argument("--base")
    p.add_argument("--checkpoint")
    p.add_argument("--record")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

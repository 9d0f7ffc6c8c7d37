"""Where a model's weights come from, for every model kind: the order of sources, verified and recorded.

1. a file the local fetch rule downloaded (:meth:`repgeom.models.ModelKind.download` says what and how it
   is verified; :func:`fetch` does it, or takes the file from torch hub's cache);
2. a local ``checkpoint: {path}`` (its md5 checked when the config gives one);
3. a ``train:`` recipe (the tutorial's kinds), trained on MNIST through the kind's own preprocessing — also
   when a download could not reach its host at all;
4. a random initialisation with ``init_seed``.

A file becomes the network by the kind's :attr:`~repgeom.models.ModelKind.loader` (default: the safe loader
of :mod:`repgeom.checkpoints`).  The ``record`` (the model's JSON record) receives where the weights came
from and their digests.  torch is imported inside these functions (~2.5 s), so planning never pays it.
"""

from __future__ import annotations

import os
import shutil
from typing import Callable, Optional

from . import download, training
from .models import MODEL_KINDS, Download, ModelKind


def fetch(dl: Download, outdir: str, timeout: float = 15.0, progress: Optional[Callable] = None) -> dict:
    """Download ``dl`` into ``outdir`` (verified; torch hub's cache first when the kind names a cached file).
    Returns the fetch record: ``status`` downloaded, with the file's md5 and size. ``download.Unreachable``
    propagates: the caller decides between failing and training."""
    os.makedirs(outdir, exist_ok=True)
    record = {"url": dl.url, "expected_md5": dl.md5, "expected_sha256_prefix": dl.sha256_prefix, "file": dl.file}
    target = os.path.join(outdir, dl.file)
    cached = _hub_cache(dl.cached) if dl.cached else None
    if cached and download.sha256sum(cached).startswith(dl.sha256_prefix or ""):
        shutil.copyfile(cached, target + ".part")
        os.replace(target + ".part", target)
        return {**record, "status": "downloaded", "md5": download.md5sum(target), "bytes": os.path.getsize(target),
                "from_cache": cached}
    got_md5, size = download.fetch(dl.url, target, dl.md5, timeout=timeout, progress=progress,
                                   sha256_prefix=dl.sha256_prefix)
    return {**record, "status": "downloaded", "md5": got_md5, "bytes": size}


def _hub_cache(name):
    """A copy of ``name`` in torch hub's cache ($TORCH_HOME/hub/checkpoints), as torchvision would use it."""
    import torch.hub

    path = os.path.join(torch.hub.get_dir(), "checkpoints", name)
    return path if os.path.isfile(path) else None


def load(kind: ModelKind, kind_name: str, path: str, build: dict):
    """The network in a weights file, by the kind's loader (default: the safe loader)."""
    if kind.loader is not None:
        return kind.loader(path, build).eval()
    from .checkpoints import load_model  # imports torch

    return load_model(path, kind=kind_name, build=build)


def train(kind_name: str, images, labels, recipe, build: Optional[dict] = None, spec: Optional[dict] = None,
          progress=None, device="cpu"):
    """(network, history): a model of kind ``kind_name`` (``build``: its architecture's parameters, default the
    class's; ``spec``: its config entry, for preprocessing) trained on MNIST by ``recipe`` through its
    preprocessing."""

    kind = MODEL_KINDS[kind_name]
    return training.train(lambda: kind.build(dict(build or {})), kind.preprocess(spec or {}), images, labels,
                          recipe, progress, device)


def obtain(name: str, spec: dict, fetched: Optional[dict], fetched_dir: Optional[str], data, record: dict,
           progress: Callable = print, device="cpu"):
    """The network of model ``name`` (config entry ``spec``) from the first source that applies, its
    provenance written into ``record``.  ``fetched``: the fetch rule's record (None: nothing was fetched);
    ``data``: MNIST (training)."""
    import torch


    kind = MODEL_KINDS[spec["kind"]]
    build = kind.build_spec(spec)
    ck = spec.get("checkpoint") or {}
    if fetched and fetched["status"] == "downloaded":
        net = load(kind, spec["kind"], os.path.join(fetched_dir, fetched.get("file", "checkpoint.pth")), build)
        record.update(source="downloaded", url=fetched["url"], source_md5=fetched["md5"])
        return net
    if ck.get("path"):
        path = ck["path"]
        if not os.path.isfile(path):
            raise ValueError(f"checkpoint file {path!r} of model {name!r} does not exist")
        md5 = download.md5sum(path)
        if ck.get("md5") and md5 != ck["md5"].lower():
            raise ValueError(f"{path}: md5 {md5} does not match the configured {ck['md5']}")
        net = load(kind, spec["kind"], path, build)
        record.update(source="local", path=os.path.abspath(path), source_md5=md5)
        return net
    if "train" in spec:
        recipe = training.Recipe(**spec["train"])
        why = "train-only model" if not fetched else f"download unreachable: {fetched.get('error')}"
        progress(f"training {name} ({spec['kind']}, {recipe}) on {len(data.train_labels)} {data.source} digits: "
                 f"{why}")
        net, history = training.train(lambda: kind.build(build), kind.preprocess(spec), data.train_images,
                                      data.train_labels, recipe, progress=progress, device=device)
        record.update(source="trained", reason=why, recipe=vars(recipe), history=history)
        if fetched:
            record.update(url=fetched["url"], fallback_from="download")
        return net
    if fetched:
        raise ValueError(f"model {name}: the checkpoint could not be downloaded and no train recipe is configured")
    seed = int(spec.get("init_seed", 0))
    torch.manual_seed(seed)
    net = kind.build(build).eval()
    record.update(source="initialised", init_seed=seed, reason="no weights configured: random initialisation")
    progress(f"{name}: randomly initialised {build} (seed {seed})")
    return net

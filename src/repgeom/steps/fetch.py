"""Download a model's weights (a checkpoint URL with its md5, or torchvision's own weights with their sha256)."""

import json
import os
import shutil

from ._shell import log, main, write_json


def _torchvision_source(spec):
    """(url, file name, sha256 prefix) of a torchvision weights entry (from a site mirror if one is configured)."""
    from .. import download
    from ..models import weights_enum

    w = weights_enum(spec["builder"], spec["weights"])
    name = os.path.basename(w.url)
    url = f"{spec['mirror'].rstrip('/')}/{name}" if spec.get("mirror") else w.url
    return url, name, download.torch_hub_prefix(name)


def _hub_cache(name):
    """A copy of ``name`` in torch hub's cache ($TORCH_HOME/hub/checkpoints), as torchvision would use it."""
    import torch.hub

    path = os.path.join(torch.hub.get_dir(), "checkpoints", name)
    return path if os.path.isfile(path) else None


def run(a):
    from .. import download

    spec = json.loads(a.source)
    os.makedirs(a.outdir, exist_ok=True)
    ck = spec.get("checkpoint") or {}
    if ck.get("url"):
        url, name, md5, prefix = ck["url"], "checkpoint.pth", ck["md5"], None
    else:
        url, name, prefix = _torchvision_source(spec)
        md5 = None
    record = {"url": url, "expected_md5": md5, "expected_sha256_prefix": prefix, "file": name}
    target = os.path.join(a.outdir, name)
    last = [0]

    def progress(got, total):
        if got - last[0] >= 4 << 20 or got == total:
            last[0] = got
            log.info("  %.1f MB%s", got / 1e6, f" of {total / 1e6:.1f} MB" if total else "")

    cached = None if md5 else _hub_cache(name)
    if cached and download.sha256sum(cached).startswith(prefix or ""):
        shutil.copyfile(cached, target + ".part")
        os.replace(target + ".part", target)
        record.update(status="downloaded", md5=download.md5sum(target), bytes=os.path.getsize(target),
                      from_cache=cached)
        log.info("torchvision weights from the torch hub cache %s", cached)
        write_json(record, os.path.join(a.outdir, "fetch.json"))
        return
    try:
        log.info("downloading %s", url)
        got_md5, size = download.fetch(url, target, md5, timeout=a.timeout, progress=progress, sha256_prefix=prefix)
        record.update(status="downloaded", md5=got_md5, bytes=size)
        log.info("downloaded %d bytes, %s verified", size, f"md5 {got_md5}" if md5 else f"sha256 {prefix}...")
    except download.Unreachable as err:
        if a.on_unreachable != "train":
            hint = ("" if md5 else f"; on an offline machine put {name} into the torch hub cache "
                    f"($TORCH_HOME/hub/checkpoints) or give the model checkpoint: {{path: ...}}")
            raise SystemExit(f"{err}{hint}")
        record.update(status="unreachable", error=str(err))
        log.warning("!!! %s: the checkpoint will be TRAINED LOCALLY instead !!!", err)
    write_json(record, os.path.join(a.outdir, "fetch.json"))


def add_arguments(p):
    p.add_argument("--source", required=True, help="JSON: the model's checkpoint, kind, builder, weights")
    p.add_argument("--timeout", type=float, default=15.0)
    p.add_argument("--on-unreachable", choices=["train", "fail"], default="train")
    p.add_argument("--outdir", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

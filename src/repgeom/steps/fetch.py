"""Download a model's weights: whatever its kind says (repgeom.models.ModelKind.download), verified."""

import json
import os

from .. import download, weights
from ..models import MODEL_KINDS
from ._shell import log, main, write_json


def run(a):
    spec = json.loads(a.spec)
    dl = MODEL_KINDS[spec["kind"]].download(spec, a.mirror or None)
    os.makedirs(a.outdir, exist_ok=True)
    last = [0]

    def progress(got, total):
        if got - last[0] >= 4 << 20 or got == total:
            last[0] = got
            log.info("  %.1f MB%s", got / 1e6, f" of {total / 1e6:.1f} MB" if total else "")

    try:
        log.info("downloading %s", dl.url)
        record = weights.fetch(dl, a.outdir, timeout=a.timeout, progress=progress)
        log.info("%s: %d bytes, %s", "from the torch hub cache " + record["from_cache"] if record.get("from_cache")
                 else "downloaded", record["bytes"], f"md5 {dl.md5}" if dl.md5 else f"sha256 {dl.sha256_prefix}...")
    except download.Unreachable as err:
        if a.on_unreachable != "train":
            hint = ("" if dl.md5 else f"; on an offline machine put {dl.file} into the torch hub cache "
                    f"($TORCH_HOME/hub/checkpoints) or give the model checkpoint: {{path: ...}}")
            raise SystemExit(f"{err}{hint}")
        record = {"url": dl.url, "expected_md5": dl.md5, "expected_sha256_prefix": dl.sha256_prefix,
                  "file": dl.file, "status": "unreachable", "error": str(err)}
        log.warning("!!! %s: the checkpoint will be TRAINED LOCALLY instead !!!", err)
    write_json(record, os.path.join(a.outdir, "fetch.json"))


def add_arguments(p):
    p.add_argument("--spec", required=True, help="the model's config entry as JSON")
    p.add_argument("--mirror", default="", help="a site mirror of torchvision's weights")
    p.add_argument("--timeout", type=float, default=15.0)
    p.add_argument("--on-unreachable", choices=["train", "fail"], default="train")
    p.add_argument("--outdir", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

"""Download a checkpoint (md5-checked)."""

import os

from ._shell import log, main, write_json


def run(a):
    from .. import download

    os.makedirs(a.outdir, exist_ok=True)
    record = {"url": a.url, "expected_md5": a.md5}
    target = os.path.join(a.outdir, "checkpoint.pth")
    last = [0]

    def progress(got, total):
        if got - last[0] >= 4 << 20 or got == total:
            last[0] = got
            log.info("  %.1f MB%s", got / 1e6, f" of {total / 1e6:.1f} MB" if total else "")

    try:
        log.info("downloading %s", a.url)
        md5, size = download.fetch(a.url, target, a.md5, timeout=a.timeout, progress=progress)
        record.update(status="downloaded", md5=md5, bytes=size)
        log.info("downloaded %d bytes, md5 %s verified", size, md5)
    except download.Unreachable as err:
        if a.on_unreachable != "train":
            raise SystemExit(f"{err} (download.on_unreachable is 'fail')")
        record.update(status="unreachable", error=str(err))
        log.warning("!!! %s: the checkpoint will be TRAINED LOCALLY instead !!!", err)
    write_json(record, os.path.join(a.outdir, "fetch.json"))


def add_arguments(p):
    p.add_argument("--url", required=True)
    p.add_argument("--md5", required=True)
    p.add_argument("--timeout", type=float, default=15.0)
    p.add_argument("--on-unreachable", choices=["train", "fail"], default="train")
    p.add_argument("--outdir", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

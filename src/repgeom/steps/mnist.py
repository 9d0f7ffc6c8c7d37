"""Prepare MNIST from the configured source."""

import os

from .. import mnist
from ._shell import log, main


def run(a):
    data = mnist.load(a.source, idx_dir=a.idx_dir, download_dir=a.download_dir,
                      heldout_per_class=a.heldout_per_class, split_seed=a.split_seed)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    mnist.save(data, a.out)
    log.info("MNIST from %s: %d train, %d held-out digits -> %s",
             data.source, len(data.train_labels), len(data.test_labels), a.out)


def add_arguments(p):
    p.add_argument("--source", default="auto")
    p.add_argument("--idx-dir")
    p.add_argument("--download-dir", default="resources/mnist")
    p.add_argument("--heldout-per-class", type=int, default=100)
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

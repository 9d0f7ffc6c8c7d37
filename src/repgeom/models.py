"""Model kinds: what a ``models:`` entry can be, declared once each (``MODEL_KINDS``).

* ``feedforward`` / ``recurrent`` — the tutorial's ``Net`` and ``recurrent_Net``
  (node names known without torch; whole modules pickled the tutorial's way
  load through the safe unpickler; MNIST training recipes).
* ``torchvision`` — any classification builder of ``torchvision.models`` by
  name (``alexnet``, ``resnet18``, ...), with ``num_classes``, its own input
  size and normalisation, and weights from a state_dict checkpoint, from
  torchvision's own ``weights:`` (``DEFAULT`` or a member name, fetched by a
  local rule), or random initialisation with ``init_seed``.
* ``module`` — a user ``nn.Module`` named ``"package.module:Class"``,
  importable from the folder ``path``, built with ``kwargs``; weights from a
  state_dict or ``init_seed``.

Every kind says which config keys it takes (a JSON-schema fragment the config
schema is assembled from), how to build a fresh network from a *build spec*
(what fixes the architecture; stored in the normalised checkpoint), its
preprocessing (used by its jobs and by training alike), its label space
(whose class indices its outputs are: ``LABEL_SPACES`` says which have a
held-out split to be evaluated on), whether its node names are known without
torch, and where its weights come from: what the local fetch rule downloads
and how that file is verified (:meth:`ModelKind.download`), and how a weights
file becomes the network (:attr:`ModelKind.loader`; default: the safe loader,
state_dicts only for non-tutorial kinds).  :mod:`repgeom.weights` runs the
order of sources for every kind.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass
from typing import Callable, Optional

from . import nodes as nodes_mod
from .preprocess import resolve as resolve_preprocess
from .registry import Registry
from .torchvision_names import builder_problem, weights_problem

MODEL_KINDS = Registry("model kind")
LABEL_SPACES = Registry("label space")


@dataclass(frozen=True)
class LabelSpace:
    """Whose class indices a model's outputs are; ``heldout``: a model of this label space is evaluated in its
    record on the held-out split of the ``data:`` section (MNIST's classes)."""

    description: str
    heldout: bool = False


LABEL_SPACES.register("mnist", LabelSpace("the ten digits of MNIST", heldout=True))
LABEL_SPACES.register("imagenet", LabelSpace("the 1000 classes of ImageNet-1k"))


@dataclass(frozen=True)
class Download:
    """A weights file the local fetch rule downloads, and how it is verified: the ``md5`` of the whole file or
    the ``sha256_prefix`` torch hub names carry; ``cached``: a file name to take from torch hub's cache instead."""

    url: str
    file: str = "checkpoint.pth"
    md5: Optional[str] = None
    sha256_prefix: Optional[str] = None
    cached: Optional[str] = None

MNIST_PREPROCESS = {"size": [28, 28], "channels": 1, "mean": [0.1307], "std": [0.3081]}
IMAGENET_PREPROCESS = {"size": [224, 224], "resize": 256, "channels": 3, "mean": [0.485, 0.456, 0.406],
                       "std": [0.229, 0.224, 0.225], "interpolation": "bilinear"}

CHECKPOINT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "description": "weights to download ({url, md5}) or a local file ({path}, optional md5)",
    "properties": {
        "url": {"type": "string", "pattern": "^(https?|file)://"},
        "md5": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"},
        "path": {"type": "string", "description": "a local checkpoint file instead of a URL"},
    },
}


class ModelKind:
    """What every model kind declares (subclasses fill in the parts that differ)."""

    description = ""
    properties: dict = {}        # kind-specific config keys (JSON schema)
    required: tuple = ()
    tutorial = False             # whole-module pickles of the tutorial's classes are accepted
    trainable = False            # takes a ``train:`` recipe (MNIST)
    default_preprocess: Optional[dict] = None

    loader: Optional[Callable] = None  # (path, build) -> network: how a weights file loads (None: safe loader)

    def fetches(self, spec: dict) -> bool:
        """Does the model need the local download rule? (planning: cheap, no torch)"""
        return bool((spec.get("checkpoint") or {}).get("url"))

    def download(self, spec: dict, mirror: Optional[str] = None) -> Optional[Download]:
        """What the local fetch rule downloads for this model and how it is verified (None: nothing)."""
        ck = spec.get("checkpoint") or {}
        return Download(ck["url"], "checkpoint.pth", md5=ck["md5"]) if ck.get("url") else None

    def static_nodes(self, spec: dict) -> Optional[list]:
        """Node names without torch, or None when only the model's manifest knows them."""
        return None

    def layers(self, names: list) -> Optional[list]:
        """The kind's ``layers`` filter over traced node names (None: input + conv + linear by module type)."""
        return None

    def check(self, name: str, spec: dict) -> list:
        """Problems of one config entry beyond the schema (dotted keys in the messages): the sources of its
        weights, then the kind's own (a subclass adds to ``super().check``)."""
        where = f"config.models.{name}"
        problems = []
        ck = spec.get("checkpoint")
        if spec.get("seeds") and (ck or spec.get("weights")):
            problems.append(f"{where}.seeds: a family is trained or initialised from each seed; it cannot also "
                            f"load one checkpoint")
        if self.tutorial and ck is None and "train" not in spec:
            problems.append(f"{where}: neither a checkpoint nor a train recipe; give one or both")
        if ck is not None and ck.get("url") and not ck.get("md5"):
            problems.append(f"{where}.checkpoint.md5: missing; a downloaded checkpoint must be verified")
        if ck is not None and not ck.get("url") and not ck.get("path"):
            problems.append(f"{where}.checkpoint: needs a url (with md5) or a local path")
        if ck is not None and ck.get("path") and not os.path.isfile(ck["path"]):
            problems.append(f"{where}.checkpoint.path: file {ck['path']!r} does not exist")
        return problems

    def label_space(self, spec: dict) -> Optional[str]:
        """Whose class indices the outputs are ("mnist", "imagenet", ...); None: not a classifier of a set here."""
        return spec.get("label_space")

    def evaluated_heldout(self, spec: dict) -> bool:
        """Does the model's record carry held-out metrics (its label space has the ``data:`` section's split)?"""
        space = self.label_space(spec)
        return space in LABEL_SPACES and LABEL_SPACES[space].heldout

    def needs_data(self, spec: dict) -> bool:
        """Does the job that materialises the model read the ``data:`` section (to train, or to evaluate)?"""
        return self.trainable or self.evaluated_heldout(spec)

    def build_spec(self, spec: dict) -> dict:
        """What fixes the architecture (stored in the normalised checkpoint and in the model record)."""
        return {}

    def build(self, build: dict):
        """A fresh network (weights from torch's current random state)."""
        raise NotImplementedError

    def preprocess(self, spec: dict) -> dict:
        """The complete preprocess spec of this model (kind defaults, then the config's ``preprocess:``)."""
        return resolve_preprocess(self.default_preprocess or {}, spec.get("preprocess"))


class TutorialKind(ModelKind):
    """One of the tutorial's networks."""

    tutorial = True
    trainable = True
    default_preprocess = MNIST_PREPROCESS

    def __init__(self, class_name: str, description: str, properties: Optional[dict] = None):
        self.class_name = class_name
        self.description = description
        self.properties = properties or {}

    @property
    def cls(self):
        from . import networks

        return getattr(networks, self.class_name)

    def label_space(self, spec):
        return "mnist"


class FeedforwardKind(TutorialKind):
    def static_nodes(self, spec):
        return list(nodes_mod.FEEDFORWARD_NODES)

    def layers(self, names):
        return nodes_mod.tutorial_layers(names)

    def build(self, build):
        return self.cls()


class RecurrentKind(TutorialKind):
    def static_nodes(self, spec):
        return nodes_mod.recurrent_nodes(spec["time_steps"])

    def layers(self, names):
        return nodes_mod.tutorial_layers(names)

    def build_spec(self, spec):
        return {"time_steps": int(spec["time_steps"])}

    def build(self, build):
        return self.cls(**build)  # the class's own default when a bare state_dict names no time_steps


MODEL_KINDS.register("feedforward", FeedforwardKind(
    "Net", "the tutorial's feedforward MNIST network (Net)"))
MODEL_KINDS.register("recurrent", RecurrentKind(
    "RecurrentNet", "the tutorial's recurrent_Net (conv2 applied time_steps times)",
    {"time_steps": {"type": "integer", "minimum": 1, "default": 5, "description": "recurrent steps"}}))


_SEED = {"type": "integer", "default": 0, "description": "seed of the random initialisation (when no weights)"}
_LABEL_SPACE = {"type": ["string", "null"],
                "description": "whose class indices the outputs are (e.g. mnist, imagenet): accuracy is "
                               "reported on stimulus sets of the same label space"}


@MODEL_KINDS.register("torchvision")
class TorchvisionKind(ModelKind):
    description = "a classification builder of torchvision.models by name"
    properties = {
        "builder": {"type": "string", "description": "torchvision.models builder, e.g. alexnet, resnet18"},
        "num_classes": {"type": "integer", "minimum": 1, "default": 1000},
        "weights": {"type": ["string", "null"], "default": None,
                    "description": "torchvision weights: DEFAULT or a member name such as IMAGENET1K_V1 "
                                   "(downloaded by a local rule; needs internet or a filled torch hub cache)"},
        "init_seed": _SEED,
        "label_space": _LABEL_SPACE,
    }
    required = ("builder",)
    default_preprocess = IMAGENET_PREPROCESS

    def fetches(self, spec):
        return super().fetches(spec) or bool(spec.get("weights"))

    def download(self, spec, mirror=None):
        """torchvision's weights file (from a site mirror if one is configured), verified by the sha256 prefix
        in its name as torch hub verifies it, and taken from torch hub's cache when it is there."""
        if not spec.get("weights"):
            return super().download(spec, mirror)
        w = weights_enum(spec["builder"], spec["weights"])
        name = os.path.basename(w.url)
        prefix = _TORCH_HASH.search(name)
        url = f"{mirror.rstrip('/')}/{name}" if mirror else w.url
        return Download(url, name, sha256_prefix=prefix.group(1) if prefix else None, cached=name)

    def check(self, name, spec):
        problems = super().check(name, spec)
        builder = spec.get("builder")
        if isinstance(builder, str):
            problems += [p for p in (builder_problem(builder, f"config.models.{name}.builder"),) if p]
            if isinstance(spec.get("weights"), str):
                problems += [p for p in (weights_problem(builder, spec["weights"], f"config.models.{name}.weights"),)
                             if p]
        if spec.get("weights") and spec.get("checkpoint"):
            problems.append(f"config.models.{name}: give torchvision weights or a checkpoint, not both")
        if spec.get("weights") and spec.get("num_classes", 1000) != 1000:
            problems.append(f"config.models.{name}.num_classes: torchvision's pretrained weights have 1000 "
                            f"classes; drop num_classes or the weights")
        return problems

    def label_space(self, spec):
        if "label_space" in spec and spec["label_space"] is not None:
            return spec["label_space"]
        return "imagenet" if spec.get("weights") else None

    def build_spec(self, spec):
        return {"builder": spec["builder"], "num_classes": int(spec.get("num_classes", 1000))}

    def build(self, build):
        import torchvision.models as tvm

        valid = tvm.list_models(module=tvm)
        if build["builder"] not in valid:
            raise ValueError(f"unknown torchvision classification builder {build['builder']!r}; valid: {valid}")
        return tvm.get_model(build["builder"], weights=None, num_classes=int(build["num_classes"]))

    def preprocess(self, spec):
        defaults = dict(IMAGENET_PREPROCESS)
        if spec.get("weights"):  # the weights' own transforms (ImageClassification presets)
            t = weights_enum(spec["builder"], spec["weights"]).transforms()
            defaults.update(size=list(t.crop_size) * (2 if len(t.crop_size) == 1 else 1),
                            resize=int(t.resize_size[0]) if t.resize_size else None,
                            mean=list(t.mean), std=list(t.std), interpolation=t.interpolation.value)
        return resolve_preprocess(defaults, spec.get("preprocess"))


_TORCH_HASH = re.compile(r"-([a-f0-9]+)\.")  # torch hub's file names carry a sha256 prefix: name-<prefix>.pth


def weights_enum(builder: str, name: str):
    """torchvision's weights member (``DEFAULT`` or e.g. ``IMAGENET1K_V1``) of a builder; a clear error otherwise."""
    import torchvision.models as tvm  # ~5 s to import: only in the jobs that need the weights

    enum = tvm.get_model_weights(builder)
    if name == "DEFAULT":
        return enum.DEFAULT
    try:
        return enum[name]
    except KeyError:
        raise ValueError(f"torchvision has no weights {name!r} for {builder}; valid: "
                         f"{['DEFAULT'] + [w.name for w in enum]}") from None


@MODEL_KINDS.register("module")
class ModuleKind(ModelKind):
    description = "a user nn.Module named package.module:Class, importable from a folder"
    properties = {
        "class": {"type": "string", "pattern": r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$",
                  "description": "package.module:Class"},
        "path": {"type": ["string", "null"], "default": None,
                 "description": "folder to import the module from (added to sys.path)"},
        "kwargs": {"type": "object", "default": {}, "description": "keyword arguments of the class"},
        "init_seed": _SEED,
        "label_space": _LABEL_SPACE,
    }
    required = ("class",)

    def check(self, name, spec):
        problems = super().check(name, spec)
        pre = spec.get("preprocess") or {}
        missing = [k for k in ("size", "channels") if k not in pre]
        if missing:
            problems.append(f"config.models.{name}.preprocess: needs {missing} (the input the module takes)")
        folder = spec.get("path")
        if folder and not os.path.isdir(folder):
            problems.append(f"config.models.{name}.path: folder {folder!r} does not exist")
        return problems

    def build_spec(self, spec):
        path = spec.get("path")
        return {"class": spec["class"], "path": os.path.abspath(path) if path else None,
                "kwargs": dict(spec.get("kwargs") or {})}

    def build(self, build):
        return import_class(build["class"], build.get("path"))(**build.get("kwargs", {}))


def import_class(target: str, path: Optional[str] = None):
    """The class named ``package.module:Class``, imported from ``path`` if given; clear errors otherwise."""
    module_name, _, qualname = target.partition(":")
    if path:
        if not os.path.isdir(path):
            raise ValueError(f"module folder {path!r} does not exist")
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        obj = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"cannot import {module_name!r} (from {path or 'sys.path'}): {err}") from None
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{module_name!r} has no {qualname!r}")
        obj = getattr(obj, part)
    return obj


def kind_of(spec: dict) -> ModelKind:
    """The kind of a validated model entry."""
    return MODEL_KINDS[spec["kind"]]


def tutorial_kind_of(module) -> str:
    """The kind name of an instance of one of the tutorial's classes."""
    for name in MODEL_KINDS.where(lambda k: k.tutorial):
        if type(module) is MODEL_KINDS[name].cls:
            return name
    raise TypeError(f"not one of the tutorial's networks: {type(module).__name__}")


def tutorial_build_of(module) -> dict:
    """The build spec of a tutorial network instance."""
    return {"time_steps": int(module.time_steps)} if hasattr(module, "time_steps") else {}


SEEDS_SCHEMA = {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "integer"},
                "description": "a model family: one model per seed (NAME-seedS), trained or initialised from it; "
                               "paths over the family are computed per seed and summarised across seeds"}


def member_name(family: str, seed: int) -> str:
    return f"{family}-seed{seed}"


def expand_families(models: dict):
    """Config models -> (concrete models {name: spec}, families {family: [member names]}).

    A model with ``seeds: [s1, s2, ...]`` is a family: one member per seed, named ``NAME-seedS``, its
    training seed (tutorial kinds) or initialisation seed (other kinds) set to S.
    """
    concrete, families = {}, {}
    for name, spec in models.items():
        if not spec.get("seeds"):
            concrete[name] = spec
            continue
        members = []
        for seed in spec["seeds"]:
            member = {k: v for k, v in spec.items() if k != "seeds"}
            if "train" in member:
                member["train"] = {**member["train"], "seed": int(seed)}
            else:
                member["init_seed"] = int(seed)
            member["family"], member["family_seed"] = name, int(seed)
            concrete[member_name(name, seed)] = member
            members.append(member_name(name, seed))
        families[name] = members
    return concrete, families

"""Path-entry sources: what a path's ``entries:`` list can name, declared once each (``ENTRY_KINDS``).

* ``model`` — a model's layer RDMs (``standard``, or ``{model: standard, nodes: layers}``), drawn as a line;
  ``{model: adversarial, stimuli: clean_50}`` takes them on another set of the same stimuli (e.g. the clean
  images an FGSM set was made from), an entry of its own (``adversarial@clean_50``);
* ``labels`` — the one-hot labels RDM of the set (``labels``), drawn as a magenta star;
* ``reference`` — an imported RDM (``{reference: hIT}``), the mean of its RDMs, drawn as its own marker.

Every source is a cube in the results folder, so a path only compares
stored cubes.  Each kind says how a config item names it, which cube it
reads (a plan request) and which layers of that cube are its RDMs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .registry import Registry

ENTRY_KINDS = Registry("path entry kind")


@dataclass(frozen=True)
class EntryRef:
    """One parsed item of a path's ``entries``: its kind, its name, its options."""

    kind: str
    name: str
    options: dict = field(default_factory=dict, compare=False, hash=False)


class EntryKind:
    """What every path-entry kind declares."""

    draw_as = "point"
    item_schema: dict = {}

    def parse(self, item) -> Optional[EntryRef]:
        """The entry an item names, or None if it is not this kind's."""
        raise NotImplementedError

    def check(self, ref: EntryRef, where: str, cfg: dict) -> list:
        return []

    def request(self, ref: EntryRef, spec: dict):
        """The plan request of the cube this entry reads (``spec``: the path's config entry)."""
        raise NotImplementedError

    def layers(self, ref: EntryRef, spec: dict, plan, manifest_of=None) -> list:
        """Layers of that cube that are this entry's RDMs, in order."""
        raise NotImplementedError

    def models(self, ref: EntryRef) -> list:
        """Models whose manifests the entry's layers depend on."""
        return []

    def stream_request(self, ref: EntryRef, spec: dict):
        """What a streamed path reads instead of the cube (default: the cube itself, read in row blocks)."""
        return self.request(ref, spec)

    def stream_sources(self, path: str, layers: list, method: str, opened: dict) -> tuple:
        """(ids, attrs, [block source per layer]) of a streamed entry (:mod:`repgeom.streaming`).

        ``opened`` is shared by the entries of a path, so an array read by several of them (aliases, the same
        features store twice) is one source, computed once.
        """
        from .cubes import Cube
        from .streaming import CubeBlocks

        cube = Cube(path)
        out = []
        for layer in layers:
            key = (path, layer)
            if key not in opened:
                opened[key] = CubeBlocks(cube.rows(layer), f"{path}:{layer}")
            out.append(opened[key])
        return cube.ids, cube.attrs, out


def model_of(ref: EntryRef) -> str:
    """The model a model entry reads (its name, unless the entry names another set: ``model@set``)."""
    return ref.options.get("model", ref.name)


@ENTRY_KINDS.register("model")
class ModelEntry(EntryKind):
    draw_as = "path"
    item_schema = {"type": "object", "additionalProperties": False, "required": ["model"],
                   "properties": {"model": {"type": "string"},
                                  "nodes": {"$ref": "#/$defs/nodes"},
                                  "stimuli": {"type": "string", "description": "another set of the same stimulus ids "
                                                                               "(e.g. the clean base of an FGSM set)"},
                                  "label": {"type": "string"}, "color": {"type": "string"}}}

    def parse(self, item):
        if isinstance(item, str) and item not in RESERVED_NAMES:
            return EntryRef("model", item)
        if isinstance(item, dict) and "model" in item:
            options = {k: v for k, v in item.items() if k != "model"}
            if "stimuli" in options:
                return EntryRef("model", f"{item['model']}@{options['stimuli']}", {**options, "model": item["model"]})
            return EntryRef("model", item["model"], options)
        return None

    def check(self, ref, where, cfg):
        from .models import expand_families
        from .stimuli import expand_sets

        concrete, families = expand_families(cfg.get("models", {}))
        problems = []
        if model_of(ref) not in concrete and model_of(ref) not in families:
            problems.append(f"{where}: unknown model {model_of(ref)!r}; configured models: {sorted(concrete)}")
        if "stimuli" in ref.options and ref.options["stimuli"] not in expand_sets(cfg.get("stimuli", {})):
            problems.append(f"{where}: unknown stimulus set {ref.options['stimuli']!r} of entry {ref.name!r}")
        return problems

    def request(self, ref, spec):
        from .plan import ModelCube

        return ModelCube(spec["rdm_method"], model_of(ref), ref.options.get("stimuli", spec["stimuli"]),
                         _hashable(self._nodes(ref, spec)))

    def _nodes(self, ref, spec):
        return ref.options.get("nodes", spec.get("nodes", "all"))

    def layers(self, ref, spec, plan, manifest_of=None):
        return plan.resolve(model_of(ref), self._nodes(ref, spec), manifest_of)

    def models(self, ref):
        return [model_of(ref)]

    def stream_request(self, ref, spec):
        from .plan import FeatureStore

        return FeatureStore(model_of(ref), ref.options.get("stimuli", spec["stimuli"]),
                            _hashable(self._nodes(ref, spec)))

    def stream_sources(self, path, layers, method, opened):
        from .store import open_group
        from .streaming import feature_sources

        g = open_group(path)
        return g["stim"][:], dict(g.attrs), feature_sources(g, layers, method, opened)


@ENTRY_KINDS.register("labels")
class LabelsEntry(EntryKind):
    item_schema = {"type": "object", "additionalProperties": False, "required": ["labels"],
                   "properties": {"labels": {"const": True}}}
    LAYER = "labels"

    def parse(self, item):
        if item == "labels" or (isinstance(item, dict) and item.get("labels") is True):
            return EntryRef("labels", "labels")
        return None

    def request(self, ref, spec):
        from .plan import LabelsCube

        return LabelsCube(spec["rdm_method"], spec["stimuli"])

    def layers(self, ref, spec, plan, manifest_of=None):
        return [self.LAYER]

    def stream_request(self, ref, spec):
        from .plan import StimulusSet

        return StimulusSet(spec["stimuli"])

    def stream_sources(self, path, layers, method, opened):
        from .store import open_group
        from .streaming import LabelsRDM

        g = open_group(path)
        attrs = dict(g.attrs)
        key = (path, "labels", method)
        if key not in opened:
            opened[key] = LabelsRDM(g["label"][:], len(attrs["classes"]), method)
        return g["stim"][:], attrs, [opened[key]]


@ENTRY_KINDS.register("reference")
class ReferenceEntry(EntryKind):
    item_schema = {"type": "object", "additionalProperties": False, "required": ["reference"],
                   "properties": {"reference": {"type": "string"}}}

    def parse(self, item):
        if isinstance(item, dict) and "reference" in item:
            return EntryRef("reference", item["reference"])
        return None

    def check(self, ref, where, cfg):
        if ref.name not in (cfg.get("references") or {}):
            return [f"{where}: unknown reference {ref.name!r}; configured references: "
                    f"{sorted(cfg.get('references') or {})}"]
        return []

    def request(self, ref, spec):
        from .plan import ReferenceCube

        return ReferenceCube(ref.name, spec["stimuli"])

    def layers(self, ref, spec, plan, manifest_of=None):
        from .references import MEAN_LAYER

        return [MEAN_LAYER]


RESERVED_NAMES = ("labels",)  # names an entry string can't take as a model (or reference) name


def _hashable(request):
    return tuple(request) if isinstance(request, list) else request


def parse(item) -> EntryRef:
    """The entry a config item names (first kind that recognises it)."""
    for name in ENTRY_KINDS:
        ref = ENTRY_KINDS[name].parse(item)
        if ref is not None:
            return ref
    raise ValueError(f"not a path entry: {item!r}; entries are model names, 'labels', or one of "
                     f"{[{k: '...'} for k in ENTRY_KINDS if k != 'labels']}")


def entries_of(spec: dict) -> list:
    """The entries of a path's config: ``entries``, or the shorthand ``models`` (+ ``labels: true``)."""
    if spec.get("entries"):
        return [parse(item) for item in spec["entries"]]
    refs = [EntryRef("model", m) for m in spec.get("models", [])]
    if spec.get("labels", True):
        refs.append(EntryRef("labels", "labels"))
    return refs


def item_schemas() -> list:
    """The JSON-schema forms of one ``entries`` item (a name string, or a mapping per kind)."""
    return [{"type": "string"}] + [ENTRY_KINDS[k].item_schema for k in ENTRY_KINDS if ENTRY_KINDS[k].item_schema]

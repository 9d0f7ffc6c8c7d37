"""Path-entry sources: what a path's ``entries:`` list can name, declared once each (``ENTRY_KINDS``).

* ``model`` — a model's layer RDMs (``standard``, or ``{model: standard, nodes: layers}``), drawn as a line;
  ``{model: adversarial, stimuli: clean_50}`` takes them on another set of the same stimuli (e.g. the clean
  images an FGSM set was made from), an entry of its own (``adversarial@clean_50``);
* ``labels`` — the one-hot labels RDM of the set (``labels``), drawn as a magenta star;
* ``reference`` — an imported RDM (``{reference: hIT}``), the mean of its RDMs, drawn as its own marker.

Each kind says how a config item names it, which artifact it reads (a plan request: a cube, or for a
streamed path the features store or stimulus set the RDMs are made from), which layers are its RDMs, and
how to open them as RDM sources of the pair engine (:mod:`repgeom.pairstats`).  :func:`open_replicates` is
the path job's reading shell: every entry of every replicate opened, checked to hold the same stimuli.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .artifacts import FeatureStore, LabelsCube, ModelCube, ReferenceCube, StimulusSet
from .cubes import Cube
from .pairstats import LabelsRDM, StoredRDM, feature_sources
from .paths import Entry
from .references import MEAN_LAYER
from .registry import Registry
from .store import open_group

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

    def check(self, ref: EntryRef, where: str, names) -> list:
        """Problems of the entry's names (``names``: the config's :class:`repgeom.names.Names`)."""
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

    def sources(self, path: str, layers: list, method: str, opened: dict, streamed: bool) -> tuple:
        """(ids, attrs, [RDM source per layer]) of the artifact at ``path`` (the request's, or with
        ``streamed`` the stream request's).  ``opened`` is shared by the entries of a path, so an array read by
        several of them (aliases, one store twice) is one source, walked once.  Default: a cube's layers."""
        return _cube_sources(path, layers, opened)


def _cube_sources(path, layers, opened):
    if (path,) not in opened:
        opened[(path,)] = Cube(path)
    cube = opened[(path,)]
    out = []
    for layer in layers:
        if (path, layer) not in opened:
            opened[(path, layer)] = StoredRDM(cube.rows(layer), f"{path}:{layer}")
        out.append(opened[(path, layer)])
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

    def check(self, ref, where, names):
        problems = names.check_model(model_of(ref), where)
        if "stimuli" in ref.options:
            problems += names.check_set(ref.options["stimuli"], f"{where} (entry {ref.name!r}).stimuli")
        return problems

    def request(self, ref, spec):
        return ModelCube(spec["rdm_method"], model_of(ref), ref.options.get("stimuli", spec["stimuli"]),
                         _hashable(self._nodes(ref, spec)))

    def _nodes(self, ref, spec):
        return ref.options.get("nodes", spec.get("nodes", "all"))

    def layers(self, ref, spec, plan, manifest_of=None):
        return plan.resolve(model_of(ref), self._nodes(ref, spec), manifest_of)

    def models(self, ref):
        return [model_of(ref)]

    def stream_request(self, ref, spec):
        return FeatureStore(model_of(ref), ref.options.get("stimuli", spec["stimuli"]),
                            _hashable(self._nodes(ref, spec)))

    def sources(self, path, layers, method, opened, streamed):
        if not streamed:
            return _cube_sources(path, layers, opened)
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
        return LabelsCube(spec["rdm_method"], spec["stimuli"])

    def layers(self, ref, spec, plan, manifest_of=None):
        return [self.LAYER]

    def stream_request(self, ref, spec):
        return StimulusSet(spec["stimuli"])

    def sources(self, path, layers, method, opened, streamed):
        if not streamed:
            return _cube_sources(path, layers, opened)
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

    def check(self, ref, where, names):
        return names.check_reference(ref.name, where)

    def request(self, ref, spec):
        return ReferenceCube(ref.name, spec["stimuli"])

    def layers(self, ref, spec, plan, manifest_of=None):
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


PROVENANCE_KEYS = ("source_kind", "model_kind", "checkpoint_md5", "checkpoint_source", "source_md5", "method",
                   "reference_sha256", "stimulus_set", "stimulus_spec", "data_source", "eps", "attacked_model",
                   "attacked_checkpoint_md5")


def provenance(attrs: dict) -> dict:
    """What an entry's numbers come from: its store's model/reference and stimulus provenance."""
    return {k: attrs[k] for k in PROVENANCE_KEYS if attrs.get(k) not in (None, "")}


def open_replicates(replicates: list, method: str, streamed: bool) -> tuple:
    """([[paths.Entry]] per replicate, the stimulus ids, {source: provenance}) of a path job's entries
    (``{"name", "source", "kind", "store", "layers", "draw_as"}`` each), every store checked to hold the same
    stimuli in the same order as the first."""
    opened, ids, first, prov, out = {}, None, None, {}, []
    for rep in replicates:
        entries = []
        for e in rep:
            e_ids, attrs, sources = ENTRY_KINDS[e["kind"]].sources(e["store"], list(e["layers"]), method, opened,
                                                                   streamed)
            prov[e.get("source", e["name"])] = provenance(attrs)
            if ids is None:
                ids, first = e_ids, e["store"]
            if [str(v) for v in ids.tolist()] != [str(v) for v in e_ids.tolist()]:
                raise ValueError(f"{e['store']} holds other stimuli (or another order) than {first}")
            entries.append(Entry(e["name"], e["kind"], list(e["layers"]), sources, e["draw_as"]))
        out.append(entries)
    return out, ids, prov

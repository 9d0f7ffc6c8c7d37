"""``paths:`` — representational paths (the tutorial's rep_path) over models, labels and reference RDMs."""

from __future__ import annotations

import logging

from . import AnalysisKind, register

log = logging.getLogger("repgeom")

PROVENANCE_KEYS = ("source_kind", "model_kind", "checkpoint_md5", "checkpoint_source", "source_md5", "method",
                   "reference_sha256", "stimulus_set", "stimulus_spec", "data_source", "eps", "attacked_model",
                   "attacked_checkpoint_md5")


def _provenance(attrs):
    """What a path entry's numbers come from: its cube's model/reference and stimulus provenance."""
    return {k: attrs[k] for k in PROVENANCE_KEYS if attrs.get(k) not in (None, "")}


class PathAnalysis(AnalysisKind):
    section = "paths"
    record_kind = "path"
    description = "representational path over the layer RDMs of models, the labels and reference RDMs"
    modules = ("analyses/path", "paths", "compare", "cubes", "metrics", "store", "entries")
    report_category = "Representational paths"
    caption = ("Left: distance between every pair of RDMs in the path. Right: the 2-D metric MDS of that "
               "matrix; each model is a line through its layers, the input a black square, the labels a "
               "magenta star, reference RDMs their own markers.")

    @property
    def schema(self):
        from ..compare import COMPARISONS
        from ..entries import item_schemas
        from ..paths import DISTANCES
        from ..rdm import RDM_METHODS

        return {
            "type": "object",
            "additionalProperties": False,
            "required": ["stimuli"],
            "anyOf": [{"required": ["entries"]}, {"required": ["models"]}],
            "properties": {
                "entries": {"type": "array", "minItems": 1, "items": {"oneOf": item_schemas()},
                            "description": "in legend order: model names, labels, {reference: NAME}, "
                                           "{model: NAME, nodes: ...}"},
                "models": {"type": "array", "minItems": 1, "items": {"type": "string"},
                           "description": "shorthand for entries: these models, then labels (unless labels: false)"},
                "labels": {"type": "boolean", "default": True,
                           "description": "with models: add the one-hot labels RDM as a last entry"},
                "stimuli": {"type": "string", "description": "one stimulus set"},
                "nodes": {"$ref": "#/$defs/nodes", "default": "all"},
                "rdm_method": {"type": "string", "enum": RDM_METHODS.names(), "default": "euclidean"},
                "compare": {"type": "string", "enum": COMPARISONS.names(), "default": "cosine",
                            "description": "how RDMs are compared (rsatoolbox.rdm.compare semantics)"},
                "distance": {"type": "string", "enum": DISTANCES.names(), "default": "arccos",
                             "description": "similarity -> distance: arccos (a metric) or one_minus (1 - s)"},
                "seed": {"type": "integer", "default": 0, "description": "MDS seed"},
            },
        }

    def check(self, name, spec, cfg):
        from ..entries import ENTRY_KINDS, entries_of
        from ..stimuli import expand_sets

        where = f"config.paths.{name}"
        if spec.get("entries") and spec.get("models"):
            return [f"{where}: give entries or models, not both"]
        try:
            refs = entries_of(spec)
        except ValueError as err:
            return [f"{where}.entries: {err}"]
        problems = []
        for ref in refs:
            problems += ENTRY_KINDS[ref.kind].check(ref, f"{where}.entries", cfg)
        seen = [(r.kind, r.name) for r in refs]
        dupes = sorted({f"{k} {n}" for k, n in seen if seen.count((k, n)) > 1})
        if dupes:
            problems.append(f"{where}.entries: listed twice: {dupes}")
        concrete = expand_sets(cfg.get("stimuli", {}))
        target = spec.get("stimuli")
        if target in cfg.get("stimuli", {}) and target not in concrete:
            sweep = sorted(s for s, v in concrete.items() if v.get("sweep") == target)
            problems.append(f"{where}.stimuli: {target!r} is an eps sweep; name one of {sweep}")
        elif target not in concrete:
            problems.append(f"{where}.stimuli: unknown stimulus set {target!r}; configured sets: {sorted(concrete)}")
        return problems

    def _refs(self, spec):
        from ..entries import entries_of

        return entries_of(spec)

    def requests(self, name, spec, plan):
        from ..entries import ENTRY_KINDS

        return [ENTRY_KINDS[r.kind].request(r, spec) for r in self._refs(spec)]

    def job_spec(self, name, spec, plan, manifest_of=None):
        from ..entries import ENTRY_KINDS

        entries = []
        for ref in self._refs(spec):
            kind = ENTRY_KINDS[ref.kind]
            entries.append({"name": ref.name, "kind": ref.kind, "draw_as": kind.draw_as,
                            "cube": plan.path_of(kind.request(ref, spec)),
                            "layers": kind.layers(ref, spec, plan, manifest_of)})
        return {"analysis": name, "stimuli": spec["stimuli"], "rdm_method": spec["rdm_method"],
                "compare": spec["compare"], "distance": spec["distance"], "seed": spec["seed"],
                "entries": entries}

    def compute(self, job, inputs, stim_index=None):
        import numpy as np

        from .. import metrics, paths
        from ..cubes import Cube

        entries, ids, first, provenance = [], None, None, {}
        for e in job["entries"]:
            cube = Cube(e["cube"])
            provenance[e["name"]] = _provenance(cube.attrs)
            if ids is None:
                ids, first = cube.ids, e["cube"]
            elif [str(v) for v in ids.tolist()] != [str(v) for v in cube.ids.tolist()]:
                raise ValueError(f"{e['cube']} holds other stimuli (or another order) than {first}")
            entries.append(paths.Entry(e["name"], e["kind"], list(e["layers"]),
                                       [cube.rows(layer) for layer in e["layers"]], e["draw_as"]))
        n = len(ids)
        p = paths.path(entries, n, job["compare"], job["distance"], job["seed"], stim_index=stim_index)
        per_entry = metrics.path_metrics(p.distance, p.names, p.layers, p.kinds)
        nan_pairs = {}
        for name, layer, k in zip(p.names, p.layers, p.extra["nan_pairs"]):
            if k:
                nan_pairs.setdefault(name, {})[layer] = int(k)
                if k >= p.extra["pairs"]:
                    log.warning("%s: the RDM of %s %s has no valid stimulus pair (all NaN: constant patterns); "
                                "its similarity to everything is 0", job["analysis"], name, layer)
        for name, counts in nan_pairs.items():
            per_entry[name]["nan_pairs"] = counts
        models = [e["name"] for e in job["entries"] if e["kind"] == "model"]
        to_labels = {m: per_entry[m]["last_layer_distance_to_labels"] for m in models
                     if per_entry[m]["last_layer_distance_to_labels"] is not None}
        attrs = {"analysis": job["analysis"], "models": models, "entries": [e["name"] for e in job["entries"]],
                 "entry_kinds": [e["kind"] for e in job["entries"]], "stimulus_set": job["stimuli"],
                 "rdm_method": job["rdm_method"], "compare": job["compare"], "distance": job["distance"],
                 "seed": job["seed"], "n_stimuli": n, "last_layer_distance_to_labels": to_labels,
                 "last_layer_distance_to": {m: per_entry[m]["last_layer_distance_to"] for m in models},
                 "pairs": p.extra["pairs"], "provenance": provenance}
        record = {"kind": self.record_kind, "analysis": job["analysis"], "stimulus_set": job["stimuli"],
                  "n_stimuli": n, "rdm_method": job["rdm_method"], "compare": job["compare"],
                  "distance": job["distance"], "models": per_entry, "provenance": provenance,
                  "pairs": p.extra["pairs"],
                  "definition": f"{job['distance']} distance between RDMs ({job['compare']} similarity); "
                                "path_length: sum over consecutive layers of a model"}
        return paths.to_dataset(p, attrs), record

    def display(self, name, spec, plan):
        out = {}
        for ref in self._refs(spec):
            if ref.kind == "model":
                out[ref.name] = plan.model_display(ref.name)
            elif ref.kind == "reference":
                out[ref.name] = plan.reference_display(ref.name)
        return out

    def draw(self, store, display):
        from .. import figures

        return figures.path_figure(store, display)

    def summary_rows(self, record):
        from ..metrics import path_rows

        return path_rows(record)


register(PathAnalysis())

"""``dimreduction:`` — the tutorial's PCA / MDS / t-SNE grids of some layers of one model on one set.

Each embedding recipe (model, set, method, seed, perplexity) is its own job
and store (``results/embeddings/``), shared by every analysis that asks for
it; this analysis only gathers them, scores how well each 2-D view separates
the classes (silhouette of the labels) and draws the grid.
"""

from __future__ import annotations

import numpy as np

from ..artifacts import Embedding
from ..dimreduction import REDUCTIONS
from ..store import MODEL_KEYS, STIMULUS_KEYS, jsonable, open_dataset
from .base import AnalysisKind, register


class DimReduction(AnalysisKind):
    section = "dimreduction"
    record_kind = "dimreduction"
    description = "PCA / MDS / t-SNE views of some layers of one model on one stimulus set"

    @property
    def schema(self):
        return {
            "type": "object",
            "additionalProperties": False,
            "required": ["model", "stimuli"],
            "properties": {
                "model": {"type": "string"},
                "stimuli": {"type": "string"},
                "nodes": {"$ref": "#/$defs/nodes", "default": "layers"},
                "methods": {"type": "array", "minItems": 1, "uniqueItems": True,
                            "items": {"type": "string", "enum": REDUCTIONS.names()},
                            "default": REDUCTIONS.names()},
                "perplexity": {"type": "number", "exclusiveMinimum": 0, "default": 40,
                               "description": "t-SNE perplexity (the tutorial's 40)"},
                "seed": {"type": "integer", "default": 0},
            },
        }

    def check(self, name, spec, names):
        return (names.check_model(spec.get("model"), f"config.dimreduction.{name}.model", family=False)
                + names.check_set(spec.get("stimuli"), f"config.dimreduction.{name}.stimuli"))

    def _embeddings(self, spec):
        nodes = tuple(spec["nodes"]) if isinstance(spec["nodes"], list) else spec["nodes"]
        return [Embedding(spec["model"], spec["stimuli"], m, spec["seed"], float(spec["perplexity"]), nodes)
                for m in spec["methods"]]

    def requests(self, name, spec, plan):
        return self._embeddings(spec)

    def job_spec(self, name, spec, plan, manifest_of=None):
        return {"analysis": name, "model": spec["model"], "stimuli": spec["stimuli"],
                "methods": list(spec["methods"]), "seed": spec["seed"], "perplexity": spec["perplexity"],
                "nodes": plan.resolve(spec["model"], spec["nodes"], manifest_of)}

    def compute(self, job, inputs):
        import xarray as xr


        parts = [open_dataset(path).sel(layer=job["nodes"]) for path in inputs]
        first = parts[0]
        labels = first.label.values
        emb = np.stack([p.embedding.values for p in parts])
        scores = {method: {layer: float(v) for layer, v in zip(job["nodes"], p.silhouette.values)}
                  for method, p in zip(job["methods"], parts)}  # computed with each embedding
        attrs = {"analysis": job["analysis"], "model": first.attrs["model"],
                 "stimulus_set": first.attrs["stimulus_set"], "classes": first.attrs.get("classes"),
                 "seed": job["seed"], "perplexity": job["perplexity"],
                 "perplexity_used": {p.attrs["method"]: p.attrs.get("perplexity_used") for p in parts
                                     if p.attrs.get("perplexity_used") is not None}}
        ds = xr.Dataset(
            {"embedding": (("reduction", "layer", "stim", "dim"), emb)},
            coords={"reduction": np.array(job["methods"], dtype=object),
                    "layer": np.array(job["nodes"], dtype=object), "stim": first.stim.values,
                    "label": ("stim", labels), "dim": first.dim.values},
            attrs=jsonable(attrs))

        provenance = {k: first.attrs.get(k) for k in MODEL_KEYS + STIMULUS_KEYS if first.attrs.get(k) is not None}
        record = {"kind": self.record_kind, "analysis": job["analysis"], "model": job["model"],
                  "stimulus_set": job["stimuli"], "silhouette": scores, "provenance": provenance,
                  "definition": "silhouette score of the class labels in each 2-D view (Euclidean; "
                                "1 = tight separate classes, 0 = overlapping)"}
        return ds, record

    def summary_rows(self, record):
        return [("dimreduction", record["analysis"], record["model"], record["stimulus_set"], layer,
                 f"silhouette_{method}", v)
                for method, per_layer in record["silhouette"].items() for layer, v in per_layer.items()]


register(DimReduction())

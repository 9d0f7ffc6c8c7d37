"""``profiles:`` — a model's distance to a point entry, layer by layer, under several paths' measures at once.

The same model and stimuli can approach the labels under one measure and move away under another (the seed's
euclidean RDMs + cosine, against correlation RDMs + Pearson): one figure, one curve per path, makes the
dependence on the measure visible.
"""

from __future__ import annotations

import numpy as np

from ..artifacts import AnalysisStore
from ..store import jsonable, open_dataset
from .base import AnalysisKind, register


class Profile(AnalysisKind):
    section = "profiles"
    record_kind = "profile"
    description = "a model's distance to a point entry per layer, in several paths (e.g. under several measures)"
    schema = {"type": "object", "additionalProperties": False, "required": ["paths", "model"],
              "properties": {"paths": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"}},
                             "model": {"type": "string", "description": "the entry whose layers are profiled"},
                             "target": {"type": "string", "default": "labels",
                                        "description": "a point entry of every path (labels, a reference)"}}}

    def check(self, name, spec, names):
        return [p for path in spec.get("paths", [])
                for p in names.check_analysis("paths", path, f"config.profiles.{name}.paths")]

    def requests(self, name, spec, plan):
        return [AnalysisStore("paths", p) for p in spec["paths"]]

    def job_spec(self, name, spec, plan, manifest_of=None):
        return {"analysis": name, "paths": list(spec["paths"]), "model": spec["model"], "target": spec["target"]}

    def compute(self, job, inputs):
        import xarray as xr


        profiles, layers, measures = {}, None, {}
        for name, path in zip(job["paths"], inputs):
            ds = open_dataset(path)
            model, layer = ds.model.values, ds.layer.values
            rows = np.flatnonzero(model == job["model"])
            target = np.flatnonzero(model == job["target"])
            if not len(rows) or not len(target):
                raise ValueError(f"path {name!r} has no entry {job['model']!r} or {job['target']!r}")
            profiles[name] = {str(layer[i]): float(ds.distance.values[i, target[0]]) for i in rows}
            layers = layers or [str(layer[i]) for i in rows]
            measures[name] = f"{ds.attrs['rdm_method']} RDMs, {ds.attrs['compare']}, {ds.attrs['distance']}"
        values = np.array([[profiles[p].get(la, np.nan) for la in layers] for p in job["paths"]])
        ds = xr.Dataset({"distance": (("path", "layer"), values)},
                        coords={"path": np.array(job["paths"], dtype=object), "layer": np.array(layers, dtype=object)},
                        attrs=jsonable({"analysis": job["analysis"], "model": job["model"], "target": job["target"],
                                        "measures": measures}))
        return ds, {"kind": self.record_kind, "analysis": job["analysis"], "model": job["model"],
                    "target": job["target"], "profiles": profiles, "measures": measures}

    def display(self, name, spec, plan):
        return {"model": plan.model_display(spec["model"]) if spec["model"] in plan.models else {}}

    def summary_rows(self, record):
        return [("profile", record["analysis"], record["model"], path, layer, f"distance_to_{record['target']}", v)
                for path, per in record["profiles"].items() for layer, v in per.items()]


register(Profile())

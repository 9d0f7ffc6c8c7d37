"""``montages:`` — the images of a stimulus set, a few per class (the seed's ``sample_images(..., plot=True)``)."""

from __future__ import annotations

import numpy as np

from ..artifacts import StimulusSet
from ..stimuli import read_stimuli
from ..store import jsonable
from .base import AnalysisKind, register


class Montage(AnalysisKind):
    section = "montages"
    record_kind = "montage"
    description = "a grid of a stimulus set's images, a few of each class"
    schema = {"type": "object", "additionalProperties": False, "required": ["stimuli"],
              "properties": {"stimuli": {"type": "string"},
                             "per_class": {"type": "integer", "minimum": 1, "default": 5,
                                           "description": "images shown per class (the first of each)"}}}

    def check(self, name, spec, names):
        return names.check_set(spec.get("stimuli"), f"config.montages.{name}.stimuli")

    def requests(self, name, spec, plan):
        return [StimulusSet(spec["stimuli"])]

    def job_spec(self, name, spec, plan, manifest_of=None):
        return {"analysis": name, "stimuli": spec["stimuli"], "per_class": spec["per_class"]}

    def compute(self, job, inputs):
        import xarray as xr


        stim = read_stimuli(inputs[0])
        take = np.concatenate([np.flatnonzero(stim.labels == c)[:job["per_class"]] for c in range(len(stim.classes))])
        counts = {c: int((stim.labels == k).sum()) for k, c in enumerate(stim.classes)}
        ds = xr.Dataset({"images": (("stim", "channel", "y", "x"), stim.images[take])},
                        coords={"stim": np.asarray(stim.ids)[take].astype(str).astype(object),
                                "label": ("stim", stim.labels[take])},
                        attrs=jsonable({"stimulus_set": job["stimuli"], "classes": stim.classes,
                                        "n_stimuli": len(stim.ids), "per_class": job["per_class"]}))
        return ds, {"kind": self.record_kind, "analysis": job["analysis"], "stimulus_set": job["stimuli"],
                    "per_class_counts": counts, "n_stimuli": len(stim.ids)}

    def summary_rows(self, record):
        return [("montage", record["analysis"], "", record["stimulus_set"], cls, "stimuli_per_class", n)
                for cls, n in record["per_class_counts"].items()]


register(Montage())

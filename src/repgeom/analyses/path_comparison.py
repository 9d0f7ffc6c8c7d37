"""``path_comparisons:`` — two paths over the same entries, aligned by orthogonal Procrustes."""

from __future__ import annotations

import json

import numpy as np

from .. import paths
from ..artifacts import AnalysisStore
from ..entries import entries_of, model_of
from ..metrics import interval
from ..store import jsonable, open_dataset
from .base import AnalysisKind, register


def _entry_keys(spec):
    return [(r.kind, r.name, repr(r.options.get("nodes", spec.get("nodes", "all"))) if r.kind == "model" else "")
            for r in entries_of(spec)]


class PathComparison(AnalysisKind):
    section = "path_comparisons"
    record_kind = "path_comparison"
    description = "two path analyses over the same entries, aligned by Procrustes"
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["reference", "other"],
        "properties": {"reference": {"type": "string", "description": "a path analysis"},
                       "other": {"type": "string", "description": "a path analysis over the same entries"}},
    }

    def check(self, name, spec, names):
        paths = names.cfg.get("paths") or {}
        problems = []
        for role in ("reference", "other"):
            problems += names.check_analysis("paths", spec.get(role), f"config.path_comparisons.{name}.{role}")
        if not problems:
            try:
                same = _entry_keys(paths[spec["reference"]]) == _entry_keys(paths[spec["other"]])
            except ValueError:
                same = True  # the path's own check reports a bad entry
            if not same:
                problems.append(f"config.path_comparisons.{name}: paths {spec['reference']!r} and {spec['other']!r} "
                                f"have different entries; only paths over the same entries and nodes can be aligned")
        return problems

    def requests(self, name, spec, plan):
        return [AnalysisStore("paths", spec["reference"]), AnalysisStore("paths", spec["other"])]

    def job_spec(self, name, spec, plan, manifest_of=None):
        return {"comparison": name, "reference": spec["reference"], "other": spec["other"]}

    def compute(self, job, inputs):
        import xarray as xr


        ref, other = (open_dataset(p) for p in inputs)
        key = lambda ds: [f"{m}/{l}" for m, l in zip(ds.model.values, ds.layer.values)]  # noqa: E731
        if key(ref) != key(other):
            raise ValueError(f"{inputs[0]} and {inputs[1]} have different entries; only paths over the same "
                             f"models and layers can be aligned")
        aligned, disparity = paths.procrustes_align(ref.embedding.values, other.embedding.values)
        iu = np.triu_indices(ref.sizes["entry"], 1)
        record = {"kind": self.record_kind, "comparison": job["comparison"],
                  "reference": ref.attrs["analysis"], "other": other.attrs["analysis"],
                  "procrustes_disparity": disparity,
                  "definition": "scipy.spatial.procrustes disparity of the 2-D embeddings after optimal "
                                "translation, scaling, rotation and reflection (0 = same shape)",
                  "distance_matrix_correlation": float(np.corrcoef(ref.distance.values[iu],
                                                                   other.distance.values[iu])[0, 1]),
                  "entries": key(ref),
                  "provenance": {"reference": json.loads(json.dumps(ref.attrs.get("provenance", {}))),
                                 "other": json.loads(json.dumps(other.attrs.get("provenance", {})))}}
        if "embedding_bootstrap" in ref and "embedding_bootstrap" in other:
            record.update(_bootstrap_disparities(ref, other, disparity))
        attrs = {"comparison": job["comparison"], "reference": ref.attrs["analysis"],
                 "other": other.attrs["analysis"], "procrustes_disparity": disparity,
                 "n_stimuli_reference": ref.attrs["n_stimuli"], "n_stimuli_other": other.attrs["n_stimuli"],
                 "models": ref.attrs["models"]}
        ds = xr.Dataset(
            {"reference": (("entry", "dim"), ref.embedding.values, {"long_name": "reference path (MDS)"}),
             "other": (("entry", "dim"), aligned, {"long_name": "other path, Procrustes-aligned"})},
            coords={"entry": ref.entry.values, "dim": ref.dim.values, "model": ("entry", ref.model.values),
                    "layer": ("entry", ref.layer.values), "entry_kind": ("entry", ref.entry_kind.values)},
            attrs=jsonable(attrs))
        return ds, record

    def display(self, name, spec, plan):
        return {r.name: plan.model_display(model_of(r)) for r in entries_of(plan.cfg["paths"][spec["reference"]])
                if r.kind == "model"}

    def summary_rows(self, record):
        pair = f"{record['reference']} vs {record['other']}"
        rows = [("path_comparison", record["comparison"], "", pair, "", "procrustes_disparity",
                 record["procrustes_disparity"], record.get("disparity_bootstrap")),
                ("path_comparison", record["comparison"], "", pair, "", "distance_matrix_correlation",
                 record["distance_matrix_correlation"])]
        for role in ("reference", "other"):
            key = f"{role}_self_disparity"
            if key in record:
                rows.append(("path_comparison", record["comparison"], record[role], pair, "", key,
                             record[key]["median"], record[key]))
                rows.append(("path_comparison", record["comparison"], record[role], pair, "",
                             f"disparity_percentile_in_{role}_self", record[f"disparity_percentile_in_{role}_self"]))
        return rows


def _bootstrap_disparities(ref, other, disparity):
    """Where the disparity of two paths falls among their stimulus resamples.

    ``disparity_bootstrap``: the disparity between the b-th resample of each path (independent resamples of
    two stimulus sets): its interval is the uncertainty of the disparity itself.  ``<role>_self_disparity``:
    the disparity of each resample of one path to that path's own estimate: how far sampling alone moves it;
    ``disparity_percentile_in_<role>_self``: where the observed disparity falls in that distribution (near
    100: more different than resampling explains).
    """
    from scipy.spatial import procrustes


    rb, ob = ref.embedding_bootstrap.values, other.embedding_bootstrap.values
    b = min(len(rb), len(ob))
    paired = [procrustes(rb[k], ob[k])[2] for k in range(b)]
    out = {"disparity_bootstrap": {**interval(paired), "median": float(np.median(paired)), "n": b}}
    for role, ds, boot in (("reference", ref, rb), ("other", other, ob)):
        self_d = np.array([procrustes(ds.embedding.values, e)[2] for e in boot])
        out[f"{role}_self_disparity"] = {**interval(self_d), "median": float(np.median(self_d)), "n": len(boot)}
        out[f"disparity_percentile_in_{role}_self"] = float(100.0 * np.mean(self_d < disparity))
    return out


register(PathComparison())

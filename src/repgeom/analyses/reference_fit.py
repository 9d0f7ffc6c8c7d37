"""``reference_fits:`` — which layer of which model is closest to a reference measured in several subjects
(human IT, behaviour), within the noise, and better than the next?

Every layer's RDM is compared with each subject's RDM and the comparisons averaged (rsatoolbox's
``eval_fixed``); the noise ceiling bounds what any model could reach (lower: each subject against the pooled
RDM of the others; upper: against all, rsatoolbox's ``boot_noise_ceiling``); a stimulus bootstrap (one walk,
:func:`repgeom.inference.reference_fit`) gives bias-corrected intervals, and the best layer is tested against
every other layer and against the lower ceiling (bootstrap p-values, Benjamini-Hochberg across the layers).
"""

from __future__ import annotations

import logging
import re

import numpy as np

from .. import inference, metrics
from ..artifacts import StimulusSet
from ..cubes import Cube
from ..entries import ENTRY_KINDS, EntryRef, open_replicates
from ..references import MEAN_LAYER
from ..store import jsonable
from .base import AnalysisKind, register
from .path import stimulus_classes, stratified

log = logging.getLogger("repgeom")


class ReferenceFit(AnalysisKind):
    section = "reference_fits"
    record_kind = "reference_fit"
    description = "each model layer's fit to a multi-subject reference, its noise ceiling and tests between layers"
    schema = {
        "type": "object", "additionalProperties": False, "required": ["stimuli", "models", "reference"],
        "properties": {
            "stimuli": {"type": "string", "description": "one stimulus set"},
            "models": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "reference": {"type": "string", "description": "a reference with two or more subjects' RDMs"},
            "nodes": {"$ref": "#/$defs/nodes", "default": "all"},
            "rdm_method": {"$ref": "#/$defs/rdm_method", "default": "euclidean"},
            "compare": {"enum": list(inference.CEILING_METHODS), "default": "corr",
                        "description": "how a layer's RDM is compared with each subject's"},
            "subject_of": {"type": "string", "format": "regex",
                           "description": "a regular expression whose first group names the subject in each of "
                                          "the reference's RDM names: sessions of one subject are one subject "
                                          "(default: each RDM its own)"},
            "bootstrap": {"type": "object", "additionalProperties": False,
                          "default": {"n": 1000, "seed": 0, "stratify": "auto", "subjects": True},
                          "properties": {"n": {"type": "integer", "minimum": 0, "default": 1000},
                                         "seed": {"type": "integer", "default": 0},
                                         "stratify": {"enum": ["auto", True, False], "default": "auto"},
                                         "subjects": {"type": "boolean", "default": True,
                                                      "description": "resample the subjects too (three or more): "
                                                                     "intervals and tests for new subjects"}}},
        },
    }

    def _refs(self, spec):
        return [EntryRef("model", m) for m in spec["models"]] + [EntryRef("reference", spec["reference"])]

    def check(self, name, spec, names):
        where = f"config.reference_fits.{name}"
        problems = names.check_set(spec.get("stimuli"), f"{where}.stimuli")
        problems += names.check_models(spec.get("models") or [], f"{where}.models", family=False)
        problems += names.check_reference(spec.get("reference"), f"{where}.reference")
        return problems

    def requests(self, name, spec, plan):
        return [ENTRY_KINDS[r.kind].request(r, spec) for r in self._refs(spec)] + [StimulusSet(spec["stimuli"])]

    def job_spec(self, name, spec, plan, manifest_of=None):
        boot = spec["bootstrap"]
        entries = [{"name": r.name, "source": r.name, "kind": r.kind, "draw_as": ENTRY_KINDS[r.kind].draw_as,
                    "store": plan.path_of(ENTRY_KINDS[r.kind].request(r, spec)),
                    "layers": ENTRY_KINDS[r.kind].layers(r, spec, plan, manifest_of)} for r in self._refs(spec)]
        return {"analysis": name, "stimuli": spec["stimuli"], "rdm_method": spec["rdm_method"],
                "compare": spec["compare"], "reference": spec["reference"], "entries": entries,
                "stimulus_store": plan.path_of(StimulusSet(spec["stimuli"])),
                "subject_of": spec.get("subject_of"),
                "bootstrap": {"n": boot.get("n", 0), "seed": boot.get("seed", 0), "stratify": stratified(spec, plan),
                              "subjects": boot.get("subjects", True)}}

    def compute(self, job, inputs):
        import xarray as xr  # ~1 s to import: only where the store is written

        entries = [dict(e) for e in job["entries"]]
        reference = entries[-1]
        subjects = [layer for layer in Cube(reference["store"]).layers if layer != MEAN_LAYER]
        if len(subjects) < 2:
            raise ValueError(f"reference {job['reference']!r} holds {len(subjects)} RDM: a noise ceiling needs two "
                             f"or more subjects' (or sessions') RDMs")
        reference["layers"] = subjects
        units = subject_units(subjects, job.get("subject_of"), job["reference"])
        (opened,), ids, provenance = open_replicates([entries], job["rdm_method"], streamed=False)
        labels = stimulus_classes(job["stimulus_store"], ids)
        boot = job["bootstrap"]
        rows = [(e.name, layer, rdm) for e in opened[:-1] for layer, rdm in zip(e.layers, e.rdms)]
        two_factor = bool(boot["n"] and boot.get("subjects", True))
        if two_factor and len(set(units)) < 3:
            raise ValueError(f"reference {job['reference']!r}: {len(set(units))} subjects; resampling subjects "
                             f"needs three or more (set bootstrap: {{subjects: false}} for intervals over stimuli "
                             f"only)")
        fit = inference.reference_fit([r[2] for r in rows], opened[-1].rdms, len(ids), job["compare"],
                                       n_boot=boot["n"], boot_seed=boot["seed"], units=units,
                                       resample_subjects=two_factor,
                                       classes=labels if boot["stratify"] else None, progress=log.info)
        record = fit_record(job, fit, [(m, layer) for m, layer, _ in rows], subjects, len(ids), provenance, units)
        names = np.array([r[0] for r in rows], dtype=object)
        layers = np.array([r[1] for r in rows], dtype=object)
        data = {"fit": (("row",), fit["fit"], {"long_name": f"mean {job['compare']} with the subjects' RDMs"}),
                "per_subject": (("row", "subject"), fit["per_subject"]),
                "ceiling": (("bound",), fit["ceiling"], {"long_name": "noise ceiling"})}
        if "fit_boot" in fit:
            bounds = np.array([record["fits"][m][layer]["ci95"] for m, layer, _ in rows])
            data.update(fit_ci95=(("row", "end"), bounds, {"long_name": f"95 % {metrics.INTERVAL_METHOD} interval"}),
                        fit_bootstrap=(("bootstrap", "row"), fit["fit_boot"]),
                        **({"fit_dual_bootstrap": (("bootstrap", "row", "factor"), fit["dual_fit"]),
                            "ceiling_dual_bootstrap": (("bootstrap", "bound", "factor"), fit["dual_ceiling"]),
                            "subject_draws": (("bootstrap", "subject_draw"), fit["draws"])}
                           if "dual_fit" in fit else {}),
                        ceiling_bootstrap=(("bootstrap", "bound"), fit["ceiling_boot"]),
                        stimulus_draws=(("bootstrap", "draw"), fit["samples"]))
        ds = xr.Dataset(data, coords={"row": np.arange(len(rows)), "model": ("row", names), "layer": ("row", layers),
                                      "subject": np.array(subjects, dtype=object),
                                      "factor": np.array(inference.FACTORS, dtype=object),
                                      "bound": np.array(["lower", "upper"], dtype=object),
                                      "end": np.array(["low", "high"], dtype=object)},
                        attrs=jsonable({k: v for k, v in record.items() if k not in ("fits", "provenance")}))
        return ds, record

    def display(self, name, spec, plan):
        return {"models": {m: plan.model_display(m) for m in spec["models"]},
                "reference": plan.reference_display(spec["reference"])}

    def summary_rows(self, record):
        a, s, ref = record["analysis"], record["stimulus_set"], record["reference"]
        rows = [("reference_fit", a, m, s, layer, f"fit_to_{ref}", v["fit"], v)
                for m, per in record["fits"].items() for layer, v in per.items()]
        for bound in ("lower", "upper"):
            c = record["ceiling"][bound]
            rows.append(("reference_fit", a, ref, s, "", f"noise_ceiling_{bound}", c["value"], c))
        for t in record.get("tests", []):
            rows.append(("reference_fit", a, f"{t['best'][0]}/{t['best'][1]} - {t['other'][0]}/{t['other'][1]}", s,
                         "", f"fit_difference_to_{ref}", t["difference"], t))
        return rows


def subject_units(names, pattern, reference) -> np.ndarray:
    """The subject of each of a reference's RDMs: the first group of ``pattern`` in its name (one subject
    each without a pattern), named in the error when a name does not match."""
    if not pattern:
        return np.arange(len(names))
    regex = re.compile(pattern)
    keys = []
    for name in names:
        m = regex.search(name)
        if m is None or not m.groups():
            raise ValueError(f"reference {reference!r}: subject_of {pattern!r} finds no subject (a first group) "
                             f"in the RDM name {name!r}; names: {list(names)}")
        keys.append(m.group(1))
    return np.unique(keys, return_inverse=True)[1]


def fit_record(job, fit, rows, subjects, n, provenance, units=None) -> dict:
    """The metrics record of a reference fit: each layer's fit with intervals, the ceiling, the best layer and
    its tests (against every other layer, Benjamini-Hochberg across them; against the lower ceiling).

    With the two-factor bootstrap the fits' intervals and the tests are rsatoolbox's t-based ones on the
    Schütt-corrected variance (new stimuli and new subjects); the stimulus-only bias-corrected interval is
    kept as ``ci95_stimuli``.  The ceiling's intervals are over stimuli (these subjects): a ceiling is a
    property of the subjects measured."""
    boot = "fit_boot" in fit
    dual = fit.get("two_factor")
    method = metrics.INTERVAL_METHOD
    units = np.arange(len(subjects)) if units is None else np.asarray(units)
    n_subjects = int(len(np.unique(units)))

    def with_interval(value, reps):
        out = {"value": float(value)}
        if boot:
            out.update(metrics.interval(reps, float(value), method))
        return out

    fits = {}
    for k, (m, layer) in enumerate(rows):
        v = with_interval(fit["fit"][k], fit["fit_boot"][:, k] if boot else None)
        v["fit"] = v.pop("value")
        if dual is not None:
            v["ci95_stimuli"] = v.pop("ci95")
            v.pop("ci68", None)
            v["ci95"] = [float(x) for x in dual["ci"][k]]
            v["se"], v["dof"] = float(dual["se"][k]), float(dual["dof"][k])
        v["per_subject"] = [float(x) for x in fit["per_subject"][k]]
        fits.setdefault(m, {})[layer] = v
    ceiling = {bound: with_interval(fit["ceiling"][j], fit["ceiling_boot"][:, j] if boot else None)
               for j, bound in enumerate(("lower", "upper"))}
    best = int(np.argmax(fit["fit"]))
    record = {"kind": "reference_fit", "analysis": job["analysis"], "stimulus_set": job["stimuli"], "n_stimuli": n,
              "reference": job["reference"], "subjects": list(subjects), "n_subjects": n_subjects,
              "subject_of_rdm": [int(u) for u in units], "rdm_method": job["rdm_method"],
              "compare": job["compare"], "fits": fits, "ceiling": ceiling,
              "best": {"model": rows[best][0], "layer": rows[best][1], "fit": float(fit["fit"][best])},
              "definition": (f"fit: mean {job['compare']} of a layer's RDM with each of the {len(subjects)} "
                             f"RDMs of {n_subjects} subjects (rsatoolbox eval_fixed); noise ceiling: each subject "
                             "against the pooled RDM of the others (lower) and of all (upper), rsatoolbox "
                             "boot_noise_ceiling"),
              "provenance": provenance}
    if not boot:
        return record
    record["bootstrap"] = {"n": job["bootstrap"]["n"], "seed": job["bootstrap"]["seed"],
                           "stratified": bool(job["bootstrap"]["stratify"])}
    diffs_of = []
    if dual is not None:
        record["bootstrap"].update(
            resampled="stimuli and subjects", interval="t on the Schütt et al. 2023 corrected variance of a dual "
                                                       "bootstrap, Welch-Satterthwaite degrees of freedom",
            rule=dual["rule"], generalises_to="new stimuli and new subjects",
            ceiling="intervals over stimuli (these subjects)")
        for k, (m, layer) in enumerate(rows):
            if k == best:
                continue
            d = float(fit["fit"][best] - fit["fit"][k])
            se = float(dual["diff_se"][best, k])
            t = float(dual["diff_t"][best, k])
            diffs_of.append({"best": list(rows[best]), "other": [m, layer], "difference": d, "se": se,
                             "dof": float(dual["diff_dof"][best, k]), "ci95": [d - t * se, d + t * se],
                             "p_value": float(dual["p_pairwise"][best, k]), "test": "t"})
        gap = float(fit["fit"][best] - fit["ceiling"][0])
        se = float(dual["ceiling_gap_se"][best])
        t = float(dual["ceiling_gap_t"][best])
        record["best_vs_lower_ceiling"] = {"difference": gap, "se": se, "dof": float(dual["ceiling_gap_dof"][best]),
                                           "ci95": [gap - t * se, gap + t * se],
                                           "p_value": float(dual["p_ceiling"][best]), "test": "t"}
    else:
        record["bootstrap"].update(resampled="stimuli", interval=method, generalises_to="new stimuli, these subjects")
        for k, (m, layer) in enumerate(rows):
            if k == best:
                continue
            diffs = fit["fit_boot"][:, best] - fit["fit_boot"][:, k]
            d = float(fit["fit"][best] - fit["fit"][k])
            diffs_of.append({"best": list(rows[best]), "other": [m, layer], "difference": d,
                             **metrics.interval(diffs, d, method), "p_value": metrics.bootstrap_p_value(diffs),
                             "test": "bootstrap"})
        below = fit["fit_boot"][:, best] - fit["ceiling_boot"][:, 0]
        gap = float(fit["fit"][best] - fit["ceiling"][0])
        record["best_vs_lower_ceiling"] = {"difference": gap, **metrics.interval(below, gap, method),
                                           "p_value": metrics.bootstrap_p_value(below), "test": "bootstrap"}
    for t, q in zip(diffs_of, metrics.fdr_bh([t["p_value"] for t in diffs_of])):
        t["p_fdr"], t["fdr_below_0.05"] = q, bool(q < 0.05)
    record["tests"] = sorted(diffs_of, key=lambda t: t["difference"])
    return record


register(ReferenceFit())

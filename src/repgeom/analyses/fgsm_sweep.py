"""``fgsm_sweeps:`` — accuracy against FGSM eps, own-model and transfer attacks (from the accuracy table)."""

from __future__ import annotations

import numpy as np

from ..artifacts import ResultFile
from ..stimuli import STIMULUS_KINDS
from ..store import jsonable
from .base import AnalysisKind, register


class FgsmSweep(AnalysisKind):
    section = "fgsm_sweeps"
    record_kind = "fgsm_sweep"
    description = "accuracy of every model against FGSM eps, for attacks made against each of some models"
    schema = {"type": "object", "additionalProperties": False, "required": ["stimuli"],
              "properties": {"stimuli": {"type": "array", "minItems": 1, "uniqueItems": True,
                                         "items": {"type": "string"},
                                         "description": "FGSM stimulus entries with an eps list, one per attacked "
                                                        "model, on the same base set"},
                             "models": {"type": "array", "minItems": 1, "items": {"type": "string"},
                                        "description": "the models shown (default: every model)"}}}

    def check(self, name, spec, names):
        where = f"config.fgsm_sweeps.{name}"
        problems = names.check_models(spec.get("models", []), f"{where}.models")
        for s in spec.get("stimuli", []):
            members = names.sweep_members(s)
            if not members or not all(STIMULUS_KINDS[names.sets[m]["kind"]].attacks for m in members):
                problems.append(f"{where}.stimuli: {s!r} is not an attack with a list of eps (a sweep); sweeps: "
                                f"{sorted(names.sweeps)}")
        return problems

    def requests(self, name, spec, plan):
        return [ResultFile("accuracy.csv")]

    def job_spec(self, name, spec, plan, manifest_of=None):
        sweeps = []
        for s in spec["stimuli"]:
            entry = plan.cfg["stimuli"][s]
            sets = {float(v["eps"]): k for k, v in plan.sets.items() if v.get("sweep") == s}
            sweeps.append({"sweep": s, "attacked_model": entry["model"], "base": entry["base"],
                           "sets": {**{0.0: entry["base"]}, **sets}})
        return {"analysis": name, "sweeps": sweeps, "models": plan.members(spec["models"]) if spec.get("models") else None}

    def compute(self, job, inputs):
        import pandas as pd
        import xarray as xr


        table = pd.read_csv(inputs[0])
        models = job.get("models") or list(dict.fromkeys(table["model"]))
        table = table[table["model"].isin(models)]
        eps = sorted({float(e) for sw in job["sweeps"] for e in sw["sets"]})
        attacked = [sw["attacked_model"] for sw in job["sweeps"]]
        acc = np.full((len(attacked), len(models), len(eps)), np.nan)
        lo, hi = acc.copy(), acc.copy()
        record = {"kind": self.record_kind, "analysis": job["analysis"], "eps": eps, "attacks": {}}
        for a, sw in enumerate(job["sweeps"]):
            per = {}
            for e, s in sw["sets"].items():
                rows = table[table["stimulus_set"] == s].set_index("model")
                for m, row in rows.iterrows():
                    k, j = models.index(m), eps.index(float(e))
                    acc[a, k, j], lo[a, k, j], hi[a, k, j] = row["accuracy"], row["ci95_low"], row["ci95_high"]
                    per.setdefault(m, {})[f"{float(e):g}"] = {"accuracy": float(row["accuracy"]),
                                                              "ci95": [float(row["ci95_low"]), float(row["ci95_high"])],
                                                              "correct": int(row["correct"]), "n": int(row["n"])}
            record["attacks"][sw["attacked_model"]] = {"base": sw["base"], "accuracy": per}
        ds = xr.Dataset({"accuracy": (("attacked", "model", "eps"), acc),
                         "ci95_low": (("attacked", "model", "eps"), lo), "ci95_high": (("attacked", "model", "eps"), hi)},
                        coords={"attacked": np.array(attacked, dtype=object), "model": np.array(models, dtype=object),
                                "eps": np.array(eps)},
                        attrs=jsonable({"analysis": job["analysis"], "base_sets": [sw["base"] for sw in job["sweeps"]]}))
        return ds, record

    def display(self, name, spec, plan):
        return {m: plan.model_display(m) for m in plan.models}

    def summary_rows(self, record):
        rows = []
        for attacked, res in record["attacks"].items():
            for model, per in res["accuracy"].items():
                for e, v in per.items():
                    rows.append(("fgsm_sweep", record["analysis"], model, f"FGSM against {attacked}", f"eps {e}",
                                 "accuracy", v["accuracy"], {"ci95": v["ci95"]}))
        return rows


register(FgsmSweep())

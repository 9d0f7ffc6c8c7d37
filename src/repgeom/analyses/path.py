"""``paths:`` — representational paths (the tutorial's rep_path) over models, labels and reference RDMs.

The declarations: schema, checks, the plan (which artifacts, one route decided once), the figure.  The numbers
are :func:`repgeom.paths.compute`'s (one walk of the pair engine, whatever the route), gathered into the job's
record by :func:`path_record` below; the caption is the report's (:mod:`repgeom.captions`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .. import inference, metrics, paths
from ..artifacts import NeedsManifest, StimulusSet
from ..compare import COMPARISONS, streamable_comparisons
from ..entries import (
    ENTRY_KINDS,
    EntryRef,
    entries_of,
    item_schemas,
    model_of,
    open_replicates,
)
from ..paths import DISTANCES
from ..rdm import gram_methods, resolve_method
from ..store import open_group
from .base import AnalysisKind, register

log = logging.getLogger("repgeom")


@dataclass(frozen=True)
class PathRoute:
    """How one path is computed: its replicates (seed k of every family), and whether its RDMs are streamed
    from feature stores (no cubes) or read from cubes."""

    replicates: tuple
    families: tuple
    streamed: bool


class PathAnalysis(AnalysisKind):
    section = "paths"
    record_kind = "path"
    description = "representational path over the layer RDMs of models, the labels and reference RDMs"

    @property
    def schema(self):
        return {
            "type": "object", "additionalProperties": False, "required": ["stimuli"],
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
                "rdm_method": {"$ref": "#/$defs/rdm_method", "default": "euclidean"},
                "compare": {"type": "string", "enum": COMPARISONS.names(), "default": "cosine",
                            "description": "how RDMs are compared (rsatoolbox.rdm.compare semantics)"},
                "distance": {"type": "string", "enum": DISTANCES.names(), "default": "one_minus",
                             "description": "similarity -> distance: one_minus (1 - s, the seed's rep_path) or arccos "
                                            "(the angle: a metric, safer to embed with MDS)"},
                "seed": {"type": "integer", "default": 0, "description": "MDS seed"},
                "stream": {"enum": ["auto", True, False], "default": "auto",
                           "description": "make the RDMs from the feature stores in row blocks, never an N x N "
                                          "matrix (true), read them from RDM cubes (false), or stream when the "
                                          "cubes would exceed memory_mb (auto)"},
                "memory_mb": {"type": "integer", "minimum": 200, "default": 2000,
                              "description": "working memory of the path job (sets its row blocks); with "
                                             "stream: auto, cubes larger than this stream instead"},
                "threads": {"type": "integer", "minimum": 1, "default": 2,
                            "description": "BLAS threads of a streamed path (fixed: results must not depend on "
                                           "--cores)"},
                "device": {"type": "string", "default": "cpu",
                           "description": "where a streamed path computes: cpu (numpy/BLAS) or a torch device "
                                          "(cuda, cuda:1)"},
                "bootstrap": {"type": "object", "additionalProperties": False,
                              "default": {"n": 0, "seed": 0, "stratify": "auto", "embed": 200},
                              "description": "resample the stimuli n times (with replacement, seeded) for "
                                             "intervals on every distance, step and path length",
                              "properties": {"n": {"type": "integer", "minimum": 0, "default": 0},
                                             "seed": {"type": "integer", "default": 0},
                                             "embed": {"type": "integer", "minimum": 0, "default": 200,
                                                       "description": "MDS of the first this many resamples "
                                                                      "(the figure's regions; the intervals use "
                                                                      "every resample)"},
                                             "stratify": {"enum": ["auto", True, False], "default": "auto",
                                                          "description": "resample within each class (auto: "
                                                                         "for sets with a fixed number of each "
                                                                         "class, such as per_class)"}}},
            },
        }

    def check(self, name, spec, names):
        where = f"config.paths.{name}"
        if spec.get("entries") and spec.get("models"):
            return [f"{where}: give entries or models, not both"]
        try:
            refs = entries_of(spec)
        except ValueError as err:
            return [f"{where}.entries: {err}"]
        problems = names.check_set(spec.get("stimuli"), f"{where}.stimuli")
        for ref in refs:
            problems += ENTRY_KINDS[ref.kind].check(ref, f"{where}.entries", names)
        seen = [(r.kind, r.name) for r in refs]
        dupes = sorted({f"{k} {n}" for k, n in seen if seen.count((k, n)) > 1})
        if dupes:
            problems.append(f"{where}.entries: listed twice: {dupes}")
        if spec.get("stream") is True:
            problems += [f"{where}.{key}: {why}" for key, why in not_streamable(spec)]
        return problems

    def route(self, spec, plan) -> PathRoute:
        """The path's replicates and route (:func:`plan_route`), decided once per plan."""
        return plan.memo("path-route", spec, lambda: plan_route(spec, plan))

    def _request(self, ref, spec, streamed):
        kind = ENTRY_KINDS[ref.kind]
        return kind.stream_request(ref, spec) if streamed else kind.request(ref, spec)

    def requests(self, name, spec, plan):
        route = self.route(spec, plan)
        out = [self._request(r, spec, route.streamed) for rep in route.replicates for r in rep]
        out.append(StimulusSet(spec["stimuli"]))  # the stimuli's classes: the design, strata of the bootstrap
        return list(dict.fromkeys(out))

    def threads(self, spec, plan):
        return spec.get("threads", 2) if self.route(spec, plan).streamed else 1

    def mem_mb(self, spec, plan):
        return spec.get("memory_mb", 2000) + 1000 if self.route(spec, plan).streamed else 2000

    def job_spec(self, name, spec, plan, manifest_of=None):
        route = self.route(spec, plan)
        jobs = [[{"name": ref.name, "source": concrete.name, "kind": ref.kind, "draw_as": ENTRY_KINDS[ref.kind].draw_as,
                  "store": plan.path_of(self._request(concrete, spec, route.streamed)),
                  "layers": ENTRY_KINDS[ref.kind].layers(concrete, spec, plan, manifest_of)}
                 for ref, concrete in zip(entries_of(spec), rep)] for rep in route.replicates]
        stream = ({"memory_mb": spec.get("memory_mb", 2000), "threads": spec.get("threads", 2),
                   "device": spec.get("device", "cpu")} if route.streamed else None)
        boot = {"n": spec["bootstrap"].get("n", 0), "seed": spec["bootstrap"].get("seed", 0),
                "stratify": stratified(spec, plan), "embed": spec["bootstrap"].get("embed", 200)}
        return {"analysis": name, "stimuli": spec["stimuli"], "rdm_method": spec["rdm_method"], "stream": stream,
                "stimulus_store": plan.path_of(StimulusSet(spec["stimuli"])),
                "compare": spec["compare"], "distance": spec["distance"], "seed": spec["seed"],
                "bootstrap": boot, "families": list(route.families), "entries": jobs[0], "replicates": jobs}

    def compute(self, job, inputs):
        opts = job.get("stream") or {"memory_mb": 2000, "threads": 1, "device": "cpu"}
        replicates, ids, provenance = open_replicates(job["replicates"], job["rdm_method"], bool(job.get("stream")))
        n = len(ids)
        groups = {}  # each family's seeds, layer by layer: how far apart the seeds themselves are
        for k, e in enumerate(job["entries"]):
            if e["name"] in job.get("families", []):
                for j, layer in enumerate(e["layers"]):
                    groups[(e["name"], layer)] = [rep[k].rdms[j] for rep in replicates]
        boot = job.get("bootstrap") or {}
        labels = stimulus_classes(job["stimulus_store"], ids)
        log.info("%s: %d RDMs of %d stimuli, %s", job["analysis"], sum(len(e.rdms) for e in replicates[0]), n,
                 "streamed from the feature stores" if job.get("stream") else "from the cubes")
        if opts["device"] != "cpu":
            import torch  # ~2.5 s to import: only for a path on a torch device

            torch.set_num_threads(opts["threads"])
        with threadpool_limits(opts["threads"]):
            result = paths.compute(replicates, n, job["compare"], job["distance"], job["seed"],
                                   n_boot=boot.get("n", 0), boot_seed=boot.get("seed", 0), groups=groups,
                                   memory_bytes=opts["memory_mb"] * 1e6 * 0.8, device=opts["device"],
                                   progress=log.info, classes=labels if boot.get("stratify") else None,
                                   n_embed=boot.get("embed", 200),
                                   resample_replicates=len(replicates) > 1)
        record, attrs, variables = path_record(job, result, n, provenance, labels)
        return paths.to_dataset(result.paths[0], attrs, variables), record

    def display(self, name, spec, plan):
        out = {}
        for ref in entries_of(spec):
            if ref.kind == "model":
                d = dict(plan.model_display(model_of(ref)))
                if "stimuli" in ref.options:  # the model on another set of the same stimuli: dashed, labelled so
                    d.update(label=f"{d['label']} on {ref.options['stimuli']}", linestyle="--")
                d.update({k: ref.options[k] for k in ("label", "color") if k in ref.options})
                out[ref.name] = d
            elif ref.kind == "reference":
                out[ref.name] = plan.reference_display(ref.name)
        return out

    def summary_rows(self, record):
        return metrics.path_rows(record)


register(PathAnalysis())


def not_streamable(spec) -> list:
    """(config key, reason) for everything that keeps this path from streaming (empty: it can stream)."""
    out = []
    compare, method = spec.get("compare", "cosine"), spec.get("rdm_method", "euclidean")
    if compare not in streamable_comparisons():
        out.append(("compare", f"{compare!r} needs whole matrices; a streamed path compares by "
                               f"{streamable_comparisons()}"))
    if not resolve_method(method).is_gram:
        out.append(("rdm_method", f"{method!r} is not a Gram-product method, so it cannot be streamed; "
                                  f"streamable: {gram_methods()}"))
    return out


def stratified(spec, plan) -> bool:
    """Whether a path's bootstrap resamples within classes (``stratify: auto``: the set has a fixed number of
    each class)."""
    boot = spec.get("bootstrap") or {}
    if not boot.get("n"):
        return False
    mode = boot.get("stratify", "auto")
    return plan.set_stratified(spec["stimuli"]) if mode == "auto" else bool(mode)


def stimulus_classes(store: str, ids) -> np.ndarray:
    """The class of each stimulus of a path (``ids``, in its order), from its stimulus set's store."""
    g = open_group(store)
    if [str(v) for v in g["stim"][:].tolist()] != [str(v) for v in np.asarray(ids).tolist()]:
        raise ValueError(f"{store} holds other stimuli (or another order) than the path's RDMs")
    return np.asarray(g["label"][:])


def plan_route(spec, plan) -> PathRoute:
    """A path's replicates (seed k of every family) and whether it streams (``stream: auto``: when its cubes
    would take more than ``memory_mb``, every RDM N x N float32, and nothing keeps it from streaming)."""
    refs = entries_of(spec)
    families = tuple(dict.fromkeys(model_of(r) for r in refs if r.kind == "model" and model_of(r) in plan.families))
    sizes = {len(plan.families[f]) for f in families}
    if len(sizes) > 1:
        raise ValueError(f"the families of a path must have as many seeds each: {list(families)}")

    def member(r, k):
        if r.kind != "model" or model_of(r) not in families:
            return r
        m = plan.families[model_of(r)][k]
        return EntryRef(r.kind, m if r.name == model_of(r) else f"{m}@{r.options['stimuli']}", {**r.options, "model": m})

    replicates = tuple(tuple(member(r, k) for r in refs) for k in range(sizes.pop() if sizes else 1))
    mode = spec.get("stream", "auto")
    if mode == "auto":
        rdms = 0
        for r in (r for rep in replicates for r in rep):
            try:
                rdms += len(ENTRY_KINDS[r.kind].layers(r, spec, plan))
            except (NeedsManifest, ValueError):  # known only after tracing (or a bad request, which
                rdms += 1                         # validation reports): count one, a lower bound
        n = plan.set_size(spec["stimuli"])
        mode = not not_streamable(spec) and rdms * 4.0 * n * n > spec.get("memory_mb", 2000) * 1e6
    return PathRoute(replicates, families, bool(mode))


def path_record(job: dict, result, n: int, provenance: dict, labels=None) -> tuple:
    """(metrics record, dataset attrs, extra dataset variables) of a path job (:func:`repgeom.paths.compute`'s
    ``result``; ``labels``: the stimuli's classes): per-entry metrics, model pairs, the design (the share of
    same-class pairs, which every comparison with the labels RDM depends on), and with resamples their
    intervals and paired differences, with seeds each seed's metrics and the family's across seeds."""
    p = result.paths[0]
    per_entry = metrics.path_metrics(p.distance, p.names, p.layers, p.kinds)
    for name, layer, k in zip(p.names, p.layers, p.extra["nan_pairs"]):
        if k:
            per_entry[name].setdefault("nan_pairs", {})[layer] = int(k)
            if k >= p.extra["pairs"]:
                log.warning("%s: the RDM of %s %s has no valid stimulus pair (all NaN: constant patterns); "
                            "its similarity to everything is 0", job["analysis"], name, layer)
    models = [e["name"] for e in job["entries"] if e["kind"] == "model"]
    record = {"kind": "path", "analysis": job["analysis"], "stimulus_set": job["stimuli"], "n_stimuli": n,
              "rdm_method": job["rdm_method"], "compare": job["compare"], "distance": job["distance"],
              "models": per_entry, "pairs": p.extra["pairs"],
              "definition": f"{job['distance']} distance between RDMs ({job['compare']} similarity); "
                            "path_length: sum over consecutive layers of a model",
              "computed": ("streamed from the feature stores in row blocks (no RDM cube)" if job.get("stream")
                           else "from the stored RDM cubes")}
    if labels is not None:
        record["design"] = metrics.class_design(labels)
    if job.get("stream"):
        record["stream"] = {"block": result.block, "distinct_rdms": result.distinct, **job["stream"]}
    record["model_pairs"] = metrics.model_pairs(p)
    variables = {}
    b = result.bootstrap
    seeds = None
    if b is not None:
        boot = job["bootstrap"]
        record["bootstrap"] = {"n": boot["n"], "seed": boot.get("seed", 0), "resampled": "stimuli",
                               "self_pairs": "left out (a stimulus with its own repeat)",
                               "stratified": bool(boot.get("stratify"))}
        if boot.get("stratify"):
            record["bootstrap"]["design"] = ("within each class, n_c - 1 of its n_c stimuli (Rao-Wu rescaled "
                                             "bootstrap); same- and other-class pairs keep the set's shares")
        record["bootstrap"]["interval"] = metrics.INTERVAL_METHOD
        reps = [metrics.path_metrics(d, p.names, p.layers, p.kinds) for d in b["distance"]]  # once, for all
        record["intervals"] = metrics.path_metric_intervals(b["distance"], p.names, p.layers, p.kinds, per_entry,
                                                            replicates=reps)
        seeds = seed_resamples(job, result, per_entry, n, reps)
        if seeds is not None:
            record["bootstrap"]["families"] = (
                f"a family's numbers are the mean over its {len(result.paths)} seeds, with t intervals over "
                "stimuli x seeds (every seed's path on the same stimulus resamples, the seeds resampled too; "
                "Schütt et al. 2023's correction, Welch-Satterthwaite degrees of freedom): they generalise to new "
                "stimuli and new seeds")
        record["differences"] = metrics.model_differences(per_entry, b["distance"], p.names, p.layers, p.kinds,
                                                          seeds, job.get("families", []), replicates=reps)
        variables.update(
            distance_bootstrap=(("bootstrap", "entry", "entry_j"), b["distance"],
                                {"long_name": "distance on stimulus resamples"}),
            embedding_bootstrap=(("bootstrap_embedded", "entry", "dim"), b["embedding"],
                                 {"long_name": "MDS of each resample, Procrustes-aligned to the estimate"}),
            stimulus_draws=(("bootstrap", "draw"), b["samples"], {"long_name": "the resampled stimulus positions"}))
        for level, pct in metrics.LEVELS.items():
            lo, hi = np.percentile(b["distance"], [50 - pct / 2, 50 + pct / 2], axis=0)
            variables[f"distance_{level}_low"] = (("entry", "entry_j"), lo)
            variables[f"distance_{level}_high"] = (("entry", "entry_j"), hi)
    if len(result.paths) > 1:
        _across_replicates(job, result, per_entry, record, variables, seeds)
    to_labels = {m: per_entry[m]["last_layer_distance_to_labels"] for m in models
                 if per_entry[m]["last_layer_distance_to_labels"] is not None}
    attrs = {"analysis": job["analysis"], "models": models, "entries": [e["name"] for e in job["entries"]],
             "entry_kinds": [e["kind"] for e in job["entries"]], "stimulus_set": job["stimuli"],
             "rdm_method": job["rdm_method"], "compare": job["compare"], "distance": job["distance"],
             "seed": job["seed"], "n_stimuli": n, "last_layer_distance_to_labels": to_labels,
             "last_layer_distance_to": {m: per_entry[m]["last_layer_distance_to"] for m in models},
             "pairs": p.extra["pairs"], "provenance": provenance, "bootstrap": record.get("bootstrap"),
             "families": job.get("families", []), "streamed": bool(job.get("stream")),
             "differences": [d for d in record.get("differences", []) if d["target"] == "labels"]}
    record["provenance"] = provenance
    return record, attrs, variables


def seed_resamples(job, result, per_entry0, n, replicates0=None):
    """Every seed's path numbers on the data and on the path's stimulus resamples, with seed draws
    (:class:`repgeom.metrics.SeedResamples`); None without seeds or resamples."""
    b = result.bootstrap
    if b is None or "replicate_distance" not in b or len(result.paths) < 2:
        return None
    R = len(result.paths)
    point = [per_entry0] + [metrics.path_metrics(p.distance, p.names, p.layers, p.kinds) for p in result.paths[1:]]
    resampled = [replicates0 if r == 0 and replicates0 else
                 [metrics.path_metrics(d, p.names, p.layers, p.kinds) for d in b["replicate_distance"][r]]
                 for r, p in enumerate(result.paths)]
    draws = inference.subject_draws(R, len(b["samples"]), job["bootstrap"].get("seed", 0))
    return metrics.SeedResamples(point, resampled, [p.distance for p in result.paths], b["replicate_distance"],
                                 draws, n, stimuli_rescaled=bool(job["bootstrap"].get("stratify")))


def _across_replicates(job, result, per_entry0, record, variables, seeds=None):
    """Seed k of every family in replicate k: each seed's metrics, the family's across seeds, and how far apart
    its seeds are layer by layer (their RDMs compared directly: ``result.groups[(family, layer)]``)."""
    p0 = result.paths[0]
    per_seed, members, embs = [], [], [p0.embedding]
    for k, (rep, p) in enumerate(zip(job["replicates"], result.paths)):
        names = {e["name"]: e["source"] for e in rep if e["name"] in job["families"]}
        members.append(names)
        per_entry = per_entry0 if k == 0 else metrics.path_metrics(p.distance, p.names, p.layers, p.kinds)
        per_seed.append({"members": names, "models": per_entry})
        if k:
            embs.append(paths.procrustes_align(p0.embedding, p.embedding)[0])
    dists = [p.distance for p in result.paths]
    record["replicates"] = per_seed
    record["across_seeds"] = metrics.across_seeds(per_seed, job["families"], p0, dists, seeds)
    spread = {}
    for (fam, layer), sim in result.groups.items():
        d = paths.similarity_to_distance(sim, job["distance"])
        pairs = d[np.triu_indices(len(d), 1)]
        spread.setdefault(fam, {})[layer] = {"mean": float(pairs.mean()), "min": float(pairs.min()),
                                             "max": float(pairs.max())}
    record["seed_spread"] = spread
    variables.update(
        similarity_replicates=(("replicate", "entry", "entry_j"), np.stack([p.similarity for p in result.paths])),
        distance_replicates=(("replicate", "entry", "entry_j"), np.stack(dists)),
        embedding_replicates=(("replicate", "entry", "dim"), np.stack(embs),
                              {"long_name": "each seed's path, Procrustes-aligned to the first seed's"}))
    variables["replicate_members"] = (("replicate",), np.array(
        [", ".join(f"{f}={m}" for f, m in names.items()) for names in members], dtype=object))

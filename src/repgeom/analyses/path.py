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
    modules = ("analyses/path", "paths", "compare", "cubes", "metrics", "store", "entries", "streaming", "rdm")
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
                "distance": {"type": "string", "enum": DISTANCES.names(), "default": "one_minus",
                             "description": "similarity -> distance: one_minus (1 - s, the seed's rep_path) or arccos "
                                            "(the angle: a metric, safer to embed with MDS)"},
                "seed": {"type": "integer", "default": 0, "description": "MDS seed"},
                "stream": {"enum": ["auto", True, False], "default": "auto",
                           "description": "compute the path straight from the feature stores in row blocks, "
                                          "never an N x N matrix (true), through RDM cubes (false), or stream "
                                          "when the cubes would exceed memory_mb (auto)"},
                "memory_mb": {"type": "integer", "minimum": 200, "default": 2000,
                              "description": "working memory of a streamed path (sets its row block); with "
                                             "stream: auto, cubes larger than this stream instead"},
                "threads": {"type": "integer", "minimum": 1, "default": 2,
                            "description": "BLAS threads of a streamed path (fixed: results must not depend on "
                                           "--cores)"},
                "device": {"type": "string", "default": "cpu",
                           "description": "where a streamed path computes: cpu (numpy/BLAS) or a torch device "
                                          "(cuda, cuda:1)"},
                "bootstrap": {"type": "object", "additionalProperties": False, "default": {"n": 0, "seed": 0},
                              "description": "resample the stimuli n times (with replacement, seeded) for "
                                             "intervals on every distance, step and path length",
                              "properties": {"n": {"type": "integer", "minimum": 0, "default": 0},
                                             "seed": {"type": "integer", "default": 0}}},
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
        if spec.get("stream") is True:
            from ..models import expand_families

            problems += [f"{where}.{key}: {why}"
                         for key, why in self._not_streamable(spec, refs, expand_families(cfg.get("models", {}))[1])]
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

    def _replicates(self, spec, plan):
        """[{entry ref: concrete ref}] per replicate: seed k of every family in the path (one without families)."""
        from ..entries import EntryRef, model_of

        refs = self._refs(spec)
        families = list(dict.fromkeys(model_of(r) for r in refs if r.kind == "model" and model_of(r) in plan.families))
        sizes = {len(plan.families[f]) for f in families}
        if len(sizes) > 1:
            raise ValueError(f"the families of a path must have as many seeds each: {families}")
        count = sizes.pop() if sizes else 1

        def member(r, k):
            if r.kind != "model" or model_of(r) not in families:
                return r
            m = plan.families[model_of(r)][k]
            return EntryRef(r.kind, m if r.name == model_of(r) else f"{m}@{r.options['stimuli']}", {**r.options, "model": m})

        return [[member(r, k) for r in refs] for k in range(count)], families

    @staticmethod
    def _not_streamable(spec, refs, families) -> list:
        """(config key, reason) for everything that keeps this path from streaming (empty: it can stream)."""
        from ..compare import streamable_comparisons
        from ..entries import ENTRY_KINDS
        from ..rdm import RDM_METHODS, GramMethod

        out = []
        if (spec.get("bootstrap") or {}).get("n"):
            out.append(("stream", "a streamed path has no stored RDMs to resample; bootstrap needs stream: false"))
        if any(m in families for r in refs for m in ENTRY_KINDS[r.kind].models(r)):
            out.append(("stream", "model families (seeds) need stream: false"))
        compare = spec.get("compare", "cosine")
        if compare not in streamable_comparisons():
            out.append(("compare", f"{compare!r} needs whole matrices; a streamed path compares by "
                                   f"{streamable_comparisons()}"))
        method = spec.get("rdm_method", "euclidean")
        if method in RDM_METHODS and not isinstance(RDM_METHODS[method], GramMethod):
            out.append(("rdm_method", f"{method!r} is not a Gram-product method, so it cannot be streamed"))
        return out

    def streams(self, spec, plan) -> bool:
        """Is this path computed from the feature stores (no cubes)?  ``auto``: when its cubes would take more
        than ``memory_mb`` (every RDM N x N float32) and nothing needs stored RDMs (bootstrap, seeds)."""
        mode = spec.get("stream", "auto")
        if mode in (True, False):
            return mode
        from ..entries import ENTRY_KINDS
        from ..plan import NeedsManifest

        refs = self._refs(spec)
        if self._not_streamable(spec, refs, plan.families):
            return False
        rdms = 0
        for r in refs:
            try:
                rdms += len(ENTRY_KINDS[r.kind].layers(r, spec, plan))
            except NeedsManifest:  # nodes known only after tracing: count one (a lower bound)
                rdms += 1
        n = plan.set_size(spec["stimuli"])
        return rdms * 4.0 * n * n > spec.get("memory_mb", 2000) * 1e6

    def _request(self, ref, spec, plan):
        from ..entries import ENTRY_KINDS

        kind = ENTRY_KINDS[ref.kind]
        return kind.stream_request(ref, spec) if self.streams(spec, plan) else kind.request(ref, spec)

    def requests(self, name, spec, plan):
        replicates, _ = self._replicates(spec, plan)
        return list(dict.fromkeys(self._request(r, spec, plan) for rep in replicates for r in rep))

    def threads(self, spec, plan):
        return spec.get("threads", 2) if self.streams(spec, plan) else 1

    def mem_mb(self, spec, plan):
        return spec.get("memory_mb", 2000) + 1000 if self.streams(spec, plan) else 2000

    def job_spec(self, name, spec, plan, manifest_of=None):
        from ..entries import ENTRY_KINDS

        replicates, families = self._replicates(spec, plan)
        jobs = []
        for rep in replicates:
            entries = []
            for ref, concrete in zip(self._refs(spec), rep):
                kind = ENTRY_KINDS[ref.kind]
                entries.append({"name": ref.name, "source": concrete.name, "kind": ref.kind,
                                "draw_as": kind.draw_as, "store": plan.path_of(self._request(concrete, spec, plan)),
                                "layers": kind.layers(concrete, spec, plan, manifest_of)})
            jobs.append(entries)
        streamed = self.streams(spec, plan)
        stream = ({"memory_mb": spec.get("memory_mb", 2000), "threads": spec.get("threads", 2),
                   "device": spec.get("device", "cpu")} if streamed else None)
        return {"analysis": name, "stimuli": spec["stimuli"], "rdm_method": spec["rdm_method"], "stream": stream,
                "compare": spec["compare"], "distance": spec["distance"], "seed": spec["seed"],
                "bootstrap": spec["bootstrap"], "families": families, "entries": jobs[0], "replicates": jobs}

    def _entries(self, entries, analysis):
        """paths.Entry objects over the cubes of one replicate, checked to hold the same stimuli."""
        from .. import paths
        from ..cubes import Cube

        out, ids, first, provenance = [], None, None, {}
        for e in entries:
            cube = Cube(e["store"])
            provenance[e.get("source", e["name"])] = _provenance(cube.attrs)
            if ids is None:
                ids, first = cube.ids, e["store"]
            _check_same_stimuli(first, ids, e["store"], cube.ids)
            out.append(paths.Entry(e["name"], e["kind"], list(e["layers"]),
                                   [cube.rows(layer) for layer in e["layers"]], e["draw_as"]))
        return out, len(ids), provenance

    def _point(self, job, entries, n, similarity_fn=None):
        from .. import metrics, paths

        p = paths.path(entries, n, job["compare"], job["distance"], job["seed"], similarity_fn=similarity_fn)
        per_entry = metrics.path_metrics(p.distance, p.names, p.layers, p.kinds)
        for name, layer, k in zip(p.names, p.layers, p.extra["nan_pairs"]):
            if k:
                per_entry[name].setdefault("nan_pairs", {})[layer] = int(k)
                if k >= p.extra["pairs"]:
                    log.warning("%s: the RDM of %s %s has no valid stimulus pair (all NaN: constant patterns); "
                                "its similarity to everything is 0", job["analysis"], name, layer)
        return p, per_entry

    def _streamed_point(self, job):
        """The path straight from the feature stores (and the stimulus set's labels, small reference cubes)."""
        import threadpoolctl

        from .. import paths, streaming
        from ..entries import ENTRY_KINDS

        opened, sources, index, entries, provenance = {}, [], [], [], {}
        ids = first = None
        for e in job["entries"]:
            e_ids, attrs, layer_sources = ENTRY_KINDS[e["kind"]].stream_sources(e["store"], e["layers"],
                                                                                job["rdm_method"], opened)
            provenance[e.get("source", e["name"])] = _provenance(attrs)
            if ids is None:
                ids, first = e_ids, e["store"]
            _check_same_stimuli(first, ids, e["store"], e_ids)
            for src in layer_sources:
                if not any(src is s for s in sources):
                    sources.append(src)
                index.append(next(k for k, s in enumerate(sources) if s is src))
            entries.append(paths.Entry(e["name"], e["kind"], list(e["layers"]), [None] * len(e["layers"]),
                                       e["draw_as"]))
        n, opts = len(ids), job["stream"]
        block = streaming.block_for_budget(sources, n, opts["memory_mb"] * 1e6 * 0.8,
                                           multiple=_chunk_rows(sources))
        log.info("%s: streaming %d RDMs (%d distinct) of %d stimuli in row blocks of %d on %s",
                 job["analysis"], len(index), len(sources), n, block, opts["device"])

        def sim_fn(nan_pairs):
            with threadpoolctl.threadpool_limits(opts["threads"]):
                if opts["device"] != "cpu":
                    import torch

                    torch.set_num_threads(opts["threads"])
                return streaming.similarity(sources, n, job["compare"], block=block, device=opts["device"],
                                            index=index, progress=log.info, nan_pairs=nan_pairs)

        p, per_entry = self._point(job, entries, n, sim_fn)
        p.extra["stream"] = {"block": block, "distinct_rdms": len(sources), **opts}
        return entries, n, provenance, p, per_entry

    def compute(self, job, inputs):
        import numpy as np

        from .. import metrics, paths

        replicates = job.get("replicates") or [job["entries"]]
        if job.get("stream"):
            entries, n, provenance, p, per_entry = self._streamed_point(job)
        else:
            entries, n, provenance = self._entries(replicates[0], job["analysis"])
            p, per_entry = self._point(job, entries, n)
        models = [e["name"] for e in job["entries"] if e["kind"] == "model"]
        record = {"kind": self.record_kind, "analysis": job["analysis"], "stimulus_set": job["stimuli"],
                  "n_stimuli": n, "rdm_method": job["rdm_method"], "compare": job["compare"],
                  "distance": job["distance"], "models": per_entry, "pairs": p.extra["pairs"],
                  "definition": f"{job['distance']} distance between RDMs ({job['compare']} similarity); "
                                "path_length: sum over consecutive layers of a model",
                  "computed": ("streamed from the feature stores in row blocks (no RDM cube)" if job.get("stream")
                               else "from the stored RDM cubes")}
        if job.get("stream"):
            record["stream"] = p.extra["stream"]
        record["model_pairs"] = _model_pairs(p)
        variables = {}
        boot = job.get("bootstrap") or {}
        if boot.get("n"):
            b = paths.bootstrap(entries, n, p, job["compare"], job["distance"], boot["n"], boot.get("seed", 0))
            record["bootstrap"] = {"n": boot["n"], "seed": boot.get("seed", 0), "resampled": "stimuli",
                                   "self_pairs": "left out (a stimulus with its own repeat)"}
            record["intervals"] = metrics.path_metric_intervals(b["distance"], p.names, p.layers, p.kinds)
            record["differences"] = metrics.model_differences(per_entry, b["distance"], p.names, p.layers, p.kinds)
            variables.update(
                distance_bootstrap=(("bootstrap", "entry", "entry_j"), b["distance"],
                                    {"long_name": "distance on stimulus resamples"}),
                embedding_bootstrap=(("bootstrap", "entry", "dim"), b["embedding"],
                                     {"long_name": "MDS of each resample, Procrustes-aligned to the estimate"}),
                stimulus_draws=(("bootstrap", "draw"), b["samples"],
                                {"long_name": "the resampled stimulus positions"}))
            for level, pct in metrics.LEVELS.items():
                lo, hi = np.percentile(b["distance"], [50 - pct / 2, 50 + pct / 2], axis=0)
                variables[f"distance_{level}_low"] = (("entry", "entry_j"), lo)
                variables[f"distance_{level}_high"] = (("entry", "entry_j"), hi)
        if len(replicates) > 1:
            self._across_seeds(job, replicates, p, per_entry, record, variables, provenance)
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
        ds = paths.to_dataset(p, attrs)
        for name, (dims, values, *meta) in variables.items():
            ds[name] = (dims, values, *(meta or [{}]))
        return ds, record

    def _across_seeds(self, job, replicates, p0, per_entry0, record, variables, provenance):
        """Every replicate (seed k of each family): its path aligned onto the first, metrics per seed and across."""
        import numpy as np

        from .. import compare, metrics, paths

        sims, dists, embs, per_seed = [p0.similarity], [p0.distance], [p0.embedding], []
        members = []
        for k, rep in enumerate(replicates):
            names = {e["name"]: e["source"] for e in rep if e["name"] in job["families"]}
            members.append(names)
            if k == 0:
                per_seed.append({"members": names, "models": per_entry0})
                continue
            entries, n, prov = self._entries(rep, job["analysis"])
            provenance.update(prov)
            p, per_entry = self._point(job, entries, n)
            sims.append(p.similarity)
            dists.append(p.distance)
            embs.append(paths.procrustes_align(p0.embedding, p.embedding)[0])
            per_seed.append({"members": names, "models": per_entry})
        record["replicates"] = per_seed
        record["across_seeds"] = _across(per_seed, job["families"], p0, dists)
        # how far apart the seeds of each family are, layer by layer (their RDMs compared directly)
        spread = {}
        for fam in job["families"]:
            rep_entries = [next(e for e in rep if e["name"] == fam) for rep in replicates]
            entries_s = [self._entries([e], job["analysis"])[0][0] for e in rep_entries]
            per_layer = {}
            for j, layer in enumerate(rep_entries[0]["layers"]):
                sim = compare.similarity([e.rdms[j] for e in entries_s], len(self._ids(rep_entries[0])),
                                         job["compare"])
                d = paths.similarity_to_distance(sim, job["distance"])
                pairs = d[np.triu_indices(len(d), 1)]
                per_layer[layer] = {"mean": float(pairs.mean()), "min": float(pairs.min()),
                                    "max": float(pairs.max())}
            spread[fam] = per_layer
        record["seed_spread"] = spread
        variables.update(
            similarity_replicates=(("replicate", "entry", "entry_j"), np.stack(sims)),
            distance_replicates=(("replicate", "entry", "entry_j"), np.stack(dists)),
            embedding_replicates=(("replicate", "entry", "dim"), np.stack(embs),
                                  {"long_name": "each seed's path, Procrustes-aligned to the first seed's"}))
        variables["replicate_members"] = (("replicate",), np.array(
            [", ".join(f"{f}={m}" for f, m in names.items()) for names in members], dtype=object))

    @staticmethod
    def _ids(entry):
        from ..cubes import Cube

        return Cube(entry["store"]).ids

    def display(self, name, spec, plan):
        from ..entries import model_of

        out = {}
        for ref in self._refs(spec):
            if ref.kind == "model":
                d = dict(plan.model_display(model_of(ref)))
                if "stimuli" in ref.options:  # the model on another set of the same stimuli: dashed, labelled so
                    d.update(label=f"{d['label']} on {ref.options['stimuli']}", linestyle="--")
                d.update({k: ref.options[k] for k in ("label", "color") if k in ref.options})
                out[ref.name] = d
            elif ref.kind == "reference":
                out[ref.name] = plan.reference_display(ref.name)
        return out

    def draw(self, store, display):
        from .. import figures

        return figures.path_figure(store, display)

    def summary_rows(self, record):
        from ..metrics import path_rows

        return path_rows(record)

    def report_numbers(self, record):
        ci = record.get("intervals") or {}
        parts = []
        for m, pm in record["models"].items():
            if pm.get("kind") != "model":
                continue
            for t, per in pm["distance_to"].items():
                layers = list(per)
                first, last = layers[0], pm["last_layer"]
                last_ci = ci.get(m, {}).get("last_layer_distance_to", {}).get(t)
                parts.append(f"{m}: distance to {t} {first} {per[first]:.3f} → {last} {per[last]:.3f}"
                             + (f" [{last_ci['ci95'][0]:.3f}, {last_ci['ci95'][1]:.3f}]" if last_ci else ""))
            pl_ci = ci.get(m, {}).get("path_length")
            parts.append(f"{m}: path length {pm['path_length']:.2f}"
                         + (f" [{pl_ci['ci95'][0]:.2f}, {pl_ci['ci95'][1]:.2f}]" if pl_ci else "")
                         + (f", largest step {max(pm['step_lengths']):.3f} "
                            f"({pm['layers'][pm['step_lengths'].index(max(pm['step_lengths']))]} → "
                            f"{pm['layers'][pm['step_lengths'].index(max(pm['step_lengths'])) + 1]})"
                            if pm.get("step_lengths") else ""))
        for d in record.get("differences", []):
            lo, hi = d["ci95"]
            parts.append(f"last layer to {d['target']}, {d['models'][0]} minus {d['models'][1]}: "
                         f"{d['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}], "
                         f"{'excludes' if d['ci95_excludes_zero'] else 'includes'} 0")
        for pair in record.get("model_pairs", []):
            parts.append(f"paths of {pair['models'][0]} and {pair['models'][1]}: Procrustes disparity "
                         f"{pair['procrustes_disparity']:.3f}, mean distance of corresponding layers "
                         f"{pair['mean_layer_distance']:.3f}")
        for fam, res in (record.get("across_seeds") or {}).items():
            for t, v in res["last_layer_distance_to"].items():
                parts.append(f"{fam} across {len(v['per_seed'])} seeds: last layer to {t} {v['mean']:.3f} "
                             f"[{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]")
            for other, per in res.get("layer_distance_to", {}).items():
                last = list(per)[-1]
                spread = (record.get("seed_spread") or {}).get(fam, {}).get(last, {}).get("mean")
                parts.append(f"{fam} vs {other} at {last}: {per[last]['mean']:.3f} across seeds"
                             + (f", against {spread:.3f} between the seeds themselves" if spread is not None else ""))
        boot = record.get("bootstrap")
        tail = (f" Brackets: 95 % intervals over {boot['n']} stimulus resamples." if boot else "")
        return "; ".join(parts) + "." + tail


register(PathAnalysis())


def _across(per_seed, families, p0, dists):
    """Mean and interval across seeds of each family member's metrics, and of its layer-wise distance to every
    other model of the path (the seeds' metrics as subjects: a t interval of the mean)."""
    from scipy import stats

    import numpy as np

    def summary(values):
        v = np.asarray(values, dtype=float)
        mean, sd = float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0
        out = {"mean": mean, "sd": sd, "per_seed": v.tolist()}
        for level, q in (("ci68", 0.84), ("ci95", 0.975)):
            half = float(stats.t.ppf(q, len(v) - 1) * sd / np.sqrt(len(v))) if len(v) > 1 else 0.0
            out[level] = [mean - half, mean + half]
        return out

    out = {}
    for fam in families:
        recs = [rep["models"][fam] for rep in per_seed]
        first = recs[0]
        res = {"last_layer_distance_to": {t: summary([r["last_layer_distance_to"][t] for r in recs])
                                          for t in first["last_layer_distance_to"]},
               "distance_to": {t: {layer: summary([r["distance_to"][t][layer] for r in recs]) for layer in per}
                               for t, per in first["distance_to"].items()},
               "path_length": summary([r["path_length"] for r in recs])}
        rows = {(name, layer): i for i, (name, layer, kind) in enumerate(zip(p0.names, p0.layers, p0.kinds))
                if kind == "model"}
        others = [m for m in dict.fromkeys(p0.names) if m not in families and (m, p0.layers[p0.names.index(m)])
                  in rows]
        res["layer_distance_to"] = {
            m: {layer: summary([d[rows[(m, layer)], rows[(fam, layer)]] for d in dists])
                for (name, layer) in rows if name == fam and (m, layer) in rows}
            for m in others}
        out[fam] = res
    return out


def _check_same_stimuli(first_path, first_ids, path, ids):
    """Every entry of a path must hold the same stimuli in the same order as its first."""
    if [str(v) for v in first_ids.tolist()] != [str(v) for v in ids.tolist()]:
        raise ValueError(f"{path} holds other stimuli (or another order) than {first_path}")


def _chunk_rows(sources):
    """Row chunk of the first stored features array (row blocks are its multiples: whole chunks are read)."""
    for s in sources:
        chunks = getattr(getattr(s, "features", None), "chunks", None)
        if chunks:
            return int(chunks[0])
    return 250


def _model_pairs(p):
    """How far apart two models' paths are: for models with the same layers, the Procrustes disparity of their
    embedded trajectories (shape, after translation, scaling, rotation) and the mean distance between their
    corresponding layers' RDMs."""
    import numpy as np
    from scipy.spatial import procrustes

    names = [n for n, k in zip(p.names, p.kinds) if k == "model"]
    models = list(dict.fromkeys(names))
    rows = {m: [i for i, n in enumerate(p.names) if n == m] for m in models}
    out = []
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            la, lb = [p.layers[k] for k in rows[a]], [p.layers[k] for k in rows[b]]
            if la != lb or len(la) < 3:
                continue
            disparity = float(procrustes(p.embedding[rows[a]], p.embedding[rows[b]])[2])
            mean = float(np.mean([p.distance[x, y] for x, y in zip(rows[a], rows[b])]))
            out.append({"models": [a, b], "layers": len(la), "procrustes_disparity": disparity,
                        "mean_layer_distance": mean})
    return out

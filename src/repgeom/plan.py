"""The workflow's plan: which artifacts a validated config asks for, where they live, and what each job needs.

Pure and torch-free, so it is unit-tested without Snakemake; ``common.smk``
only turns it into input functions.  Artifacts are requested by the config's
sections and by every analysis kind (``repgeom.analyses``):

* :class:`ModelCube` (an RDM method's cube of a model on a set, over some
  nodes) -> a features store per (model, set) holding the union of the nodes
  any consumer needs;
* :class:`FeatureStore`: a features store read directly (a streamed path: no cube);
* :class:`LabelsCube`, :class:`ReferenceCube`: the other path-entry sources;
* :class:`Embedding`: one PCA/MDS/t-SNE recipe of a model on a set;
* :class:`AnalysisStore`: another analysis' outputs.

Node requests are resolved against a model's manifest: for the tutorial's
networks it is known statically; for any other kind only the job that
materialises the model knows it, and ``manifest_of(model)`` (in the
workflow: a Snakemake checkpoint reading the model record) supplies it.
"""

from __future__ import annotations

import json
from typing import Callable, Optional

from . import nodes as nodes_mod
from .analyses import ANALYSES
from .artifacts import (
    AnalysisStore,
    Embedding,
    FeatureStore,
    LabelsCube,
    ModelCube,
    NeedsManifest,
    ReferenceCube,
    ResultFile,
    StimulusSet,
)
from .models import MODEL_KINDS, expand_families
from .stimuli import STIMULUS_KINDS, expand_sets, label_space, set_size


def as_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _nodes_arg(request):
    return list(request) if isinstance(request, tuple) else request


class Plan:
    """Everything the workflow makes for one validated config."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.results = cfg.get("results", "results")
        self.resources = cfg.get("resources_dir", "resources")
        self.models, self.families = expand_families(cfg["models"])  # concrete models; seeds families
        self.sets = expand_sets(cfg.get("stimuli", {}))
        self.references = cfg.get("references") or {}
        self.model_cubes: dict = {}      # (method, model, set) -> [node requests]
        self.labels_cubes: set = set()   # (method, set)
        self.reference_cubes: set = set()  # (reference, set)
        self.embeddings: dict = {}       # (model, set, id) -> {method, seed, perplexity, requests}
        self.feature_requests: dict = {}  # (model, set) -> [node requests] of direct readers
        self.rdm_figures: dict = {}      # (request, model, set) -> node request
        self.analyses: dict = {}         # (section, name) -> config entry
        self._memo: dict = {}
        for name, req in (cfg.get("rdms") or {}).items():
            for model in self.members(req["models"]):
                for s in self.sets_of(req["stimuli"]):
                    self.add(ModelCube(req["method"], model, s, _hashable(req["nodes"])))
                    self.rdm_figures[(name, model, s)] = _hashable(req["nodes"])
        for section in ANALYSES:
            for name, spec in (cfg.get(section) or {}).items():
                self.analyses[(section, name)] = spec
                for request in ANALYSES[section].requests(name, spec, self):
                    self.add(request)
        self.feature_stores: dict = {}   # (model, set) -> [node requests]
        for (method, model, s), reqs in self.model_cubes.items():
            self.feature_stores.setdefault((model, s), []).extend(reqs)
        for (model, s, _), emb in self.embeddings.items():
            self.feature_stores.setdefault((model, s), []).extend(emb["requests"])
        for key, reqs in self.feature_requests.items():
            self.feature_stores.setdefault(key, []).extend(reqs)

    def memo(self, what: str, spec, make: Callable):
        """``make()``, computed once per plan for ``(what, spec)`` (a decision several jobs' inputs read)."""
        key = (what, as_json(spec))
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    # ---- requests -------------------------------------------------------------------------------
    def add(self, request) -> str:
        """Register an artifact request; returns its path."""
        if isinstance(request, ModelCube):
            self.model_cubes.setdefault((request.method, request.model, request.set), []).append(request.nodes)
        elif isinstance(request, FeatureStore):
            self.feature_requests.setdefault((request.model, request.set), []).append(request.nodes)
        elif isinstance(request, LabelsCube):
            self.labels_cubes.add((request.method, request.set))
        elif isinstance(request, ReferenceCube):
            self.reference_cubes.add((request.reference, request.set))
        elif isinstance(request, Embedding):
            entry = self.embeddings.setdefault((request.model, request.set, request.id), {
                "method": request.method, "seed": request.seed, "perplexity": request.perplexity, "requests": []})
            entry["requests"].append(request.nodes)
        elif not isinstance(request, (AnalysisStore, StimulusSet, ResultFile)):
            raise TypeError(f"not an artifact request: {request!r}")
        return self.path_of(request)

    def path_of(self, request) -> str:
        R = self.results
        if isinstance(request, ModelCube):
            return self.cube_path(request.method, request.model, request.set)
        if isinstance(request, FeatureStore):
            return self.features_path(request.model, request.set)
        if isinstance(request, LabelsCube):
            return f"{R}/labels/{request.method}/{request.set}.zarr"
        if isinstance(request, ReferenceCube):
            return f"{R}/references/{request.reference}/{request.set}.zarr"
        if isinstance(request, Embedding):
            return f"{R}/embeddings/{request.model}/{request.set}/{request.id}.zarr"
        if isinstance(request, AnalysisStore):
            return self.analysis_outputs(request.section, request.name)["store"]
        if isinstance(request, StimulusSet):
            return self.stimuli_path(request.set)
        if isinstance(request, ResultFile):
            return f"{R}/{request.name}"
        raise TypeError(f"not an artifact request: {request!r}")

    def members(self, names) -> list:
        """Concrete models for config model names (a family stands for all its seeds)."""
        out = []
        for name in [names] if isinstance(names, str) else names:
            out += self.families.get(name, [name])
        return out

    def sets_of(self, names) -> list:
        """Concrete set ids for config set names (an eps sweep stands for all its sets)."""
        names = [names] if isinstance(names, str) else names
        out = []
        for name in names:
            out += [s for s, spec in self.sets.items() if s == name or spec.get("sweep") == name]
        return out

    # ---- paths of artifacts ---------------------------------------------------------------------
    def mnist_path(self):
        return f"{self.results}/data/mnist.npz"

    def fetch_dir(self, model):
        return f"{self.resources}/checkpoints/{model}"

    def checkpoint_files(self, model):
        return {"checkpoint": f"{self.results}/checkpoints/{model}.pt",
                "record": f"{self.results}/checkpoints/{model}.json"}

    def stimuli_path(self, s):
        return f"{self.results}/stimuli/{s}.zarr"

    def features_path(self, model, s):
        return f"{self.results}/features/{model}/{s}.zarr"

    def cube_path(self, method, model, s):
        return f"{self.results}/rdms/{method}/{model}/{s}.zarr"

    def analysis_outputs(self, section, name):
        R = self.results
        return {"store": f"{R}/{section}/{name}.zarr", "metrics": f"{R}/metrics/{section}/{name}.json",
                "figure": f"{R}/figures/{section}/{name}.png"}

    def rdm_figure_path(self, request, model, s):
        return f"{self.results}/figures/rdms/{request}/{model}/{s}.png"

    def rdm_figure_cube(self, request, model, s):
        return self.cube_path(self.cfg["rdms"][request]["method"], model, s)

    # ---- models and nodes -----------------------------------------------------------------------
    def kind(self, model):
        return MODEL_KINDS[self.models[model]["kind"]]

    def is_static(self, model) -> bool:
        """Are the model's node names known without torch (and without its manifest)?"""
        return self.kind(model).static_nodes(self.models[model]) is not None

    def manifest(self, model, manifest_of: Optional[Callable] = None) -> dict:
        names = self.kind(model).static_nodes(self.models[model])
        if names is not None:
            return nodes_mod.static_manifest(names)
        if manifest_of is None:
            raise NeedsManifest(model)
        return manifest_of(model)

    def resolve(self, model, request, manifest_of=None) -> list:
        return nodes_mod.resolve(self.manifest(model, manifest_of), _nodes_arg(request), model)

    def union(self, model, requests, manifest_of=None) -> list:
        return nodes_mod.union(self.manifest(model, manifest_of), [_nodes_arg(r) for r in requests], model)

    def feature_nodes(self, model, s, manifest_of=None) -> list:
        return self.union(model, self.feature_stores[(model, s)], manifest_of)

    def cube_nodes(self, method, model, s, manifest_of=None) -> list:
        return self.union(model, self.model_cubes[(method, model, s)], manifest_of)

    def model_spec(self, model) -> dict:
        """What defines a model's weights (figure labels and colours don't, so editing them retrains nothing)."""
        return {k: v for k, v in self.models[model].items() if k not in ("label", "color", "family", "family_seed")}

    def fetches(self, model) -> bool:
        """Does the model need the local download rule (its kind says)?"""
        return self.kind(model).fetches(self.models[model])

    def model_needs_mnist(self, model) -> bool:
        """Does the model's job read MNIST: to train, or to evaluate a model of a label space whose held-out
        split is MNIST's?"""
        return self.kind(model).needs_data(self.models[model])

    # ---- stimuli ----------------------------------------------------------------------------------
    def stimulus_kind(self, s):
        return STIMULUS_KINDS[self.sets[s]["kind"]]

    def set_size(self, s) -> int:
        return set_size(s, self.sets)

    def set_stratified(self, s) -> bool:
        """Whether set ``s`` has a fixed number of each class (:meth:`repgeom.stimuli.StimulusKind.stratified`)."""
        return self.stimulus_kind(s).stratified(self.sets[s], self.sets)

    def set_inputs(self, s) -> dict:
        spec = self.sets[s]
        kind = self.stimulus_kind(s)
        if kind.attacks:
            return {"base": self.stimuli_path(spec["base"]), **self.checkpoint_files(spec["model"])}
        if kind.needs_mnist:
            return {"data": self.mnist_path()}
        return {}

    def needs_mnist(self) -> bool:
        return (any(self.stimulus_kind(s).needs_mnist for s in self.sets)
                or any(self.model_needs_mnist(m) for m in self.models))

    def accuracy_pairs(self) -> list:
        """(model, set) pairs whose labels the model predicts (same label space): the accuracy table's rows."""
        out = []
        for s in self.sets:
            space = label_space(s, self.sets)
            for m in self.models:
                if space is not None and self.kind(m).label_space(self.models[m]) == space:
                    out.append((m, s))
        return out

    # ---- resources ----------------------------------------------------------------------------
    def feature_mem_mb(self, s) -> int:
        return 1000 + self.set_size(s) // 2

    def rdm_mem_mb(self, s) -> int:
        n = self.set_size(s)
        return int(1000 + 3 * 4 * n * n / 1e6 + 0.4 * n)

    def model_threads(self, model) -> int:
        """torch threads of the job that materialises a model: the recipe's (training's result depends on it)."""
        return int((self.models[model].get("train") or {}).get("threads", 2))

    def rdm_threads(self, s) -> int:
        """BLAS threads of an RDM job: small sets are start-up bound, so one thread and more jobs side by side."""
        return 1 if self.set_size(s) <= 1000 else 4

    # ---- analyses -----------------------------------------------------------------------------
    def analysis_kind(self, section):
        return ANALYSES[section]

    def analysis_requests(self, section, name) -> list:
        return self.analysis_kind(section).requests(name, self.analyses[(section, name)], self)

    def analysis_inputs(self, section, name) -> list:
        return [self.path_of(r) for r in self.analysis_requests(section, name)]

    def analysis_models(self, section, name) -> list:
        """Models whose nodes the analysis' job spec resolves (their manifests must exist first)."""
        out = []
        for r in self.analysis_requests(section, name):
            if isinstance(r, (ModelCube, Embedding, FeatureStore)) and r.model not in out:
                out.append(r.model)
        return out

    def analysis_threads(self, section, name) -> int:
        """BLAS/torch threads of an analysis job: fixed by its config (results must not depend on --cores)."""
        return int(self.analysis_kind(section).threads(self.analyses[(section, name)], self))

    def analysis_mem_mb(self, section, name) -> int:
        return int(self.analysis_kind(section).mem_mb(self.analyses[(section, name)], self))

    def analysis_job(self, section, name, manifest_of=None) -> dict:
        """The compute job's spec (JSON-able): computation-relevant settings only, nodes resolved."""
        return self.analysis_kind(section).job_spec(name, self.analyses[(section, name)], self, manifest_of)

    def analysis_display(self, section, name) -> dict:
        """What the figure job needs besides the store: labels and colours (editing them redraws only)."""
        return self.analysis_kind(section).display(name, self.analyses[(section, name)], self)

    def model_display(self, model) -> dict:
        if model in self.families:
            spec = self.cfg["models"][model]
            return {"label": spec.get("label") or model, "color": spec.get("color"), "seeds": spec["seeds"]}
        spec = self.models[model]
        label = spec.get("label") or model
        if "family" in spec and spec.get("label"):
            label = f"{label} (seed {spec['family_seed']})"
        return {"label": label, "color": spec.get("color")}

    def accuracy_display(self, models) -> dict:
        """Each model's label and colour for the accuracy chart; a seeds family's members name their family,
        so the chart draws the family as one bar (mean over seeds, their range) instead of one bar per seed."""
        out = {}
        for m in models:
            d = dict(self.model_display(m))
            family = self.models[m].get("family")
            if family:
                d.update(family=family, family_label=self.model_display(family)["label"])
            out[m] = d
        return out

    def reference_display(self, reference) -> dict:
        spec = self.references[reference]
        return {"label": spec.get("label") or reference, "color": spec.get("color"), "marker": spec.get("marker")}

    # ---- report ---------------------------------------------------------------------------------
    def report_items(self) -> list:
        """Every item the report can show, in a default order: (key, kind)."""
        items = []
        for section, name in self.analyses:
            if section == "montages":
                items.append(f"{section}/{name}")
        items += [f"rdms/{r}" for r in dict.fromkeys(r for (r, _, _) in self.rdm_figures)]
        items += [f"{section}/{name}" for section, name in self.analyses if section != "montages"]
        if self.accuracy_pairs():
            items.append("accuracy")
        if self.rdm_figures or self.analyses:
            items.append("summary")
        return items

    def report_layout(self, manifest_of=None) -> list:
        """The report's sections with their items resolved to files: the config's ``report:``, then the rest."""
        sections = [dict(s) for s in (self.cfg.get("report") or {}).get("sections", [])]
        listed = {i for s in sections for i in s["items"]}
        rest = [i for i in self.report_items() if i not in listed]
        if rest:
            sections.append({"title": "More results" if sections else "Results", "items": rest})
        return [{"title": s["title"], "text": s.get("text", ""),
                 "items": [x for item in s["items"] for x in self._report_item(item, manifest_of)]}
                for s in sections]

    def _report_item(self, key, manifest_of=None):
        R = self.results
        if key == "accuracy":
            return [{"kind": "accuracy", "figure": f"{R}/figures/accuracy.png", "table": f"{R}/accuracy.csv",
                     "title": "Accuracy"},
                    {"kind": "table", "path": f"{R}/accuracy.csv", "title": "accuracy.csv",
                     "caption": "One row per model and stimulus set."}]
        if key == "summary":
            return [{"kind": "table", "path": f"{R}/metrics/summary.csv", "title": "Every number of the run",
                     "collapsed": True, "caption": "The tidy metrics table (metrics/summary.csv)."}]
        section, _, name = key.partition("/")
        if section == "rdms":
            return [{"kind": "rdm_figure", "figure": self.rdm_figure_path(name, m, s), "cube": self.rdm_figure_cube(name, m, s),
                     "layers": self.resolve(m, req, manifest_of), "title": f"{name}: RDMs of {m} on {s}"}
                    for (r, m, s), req in self.rdm_figures.items() if r == name]
        kind = ANALYSES[section]
        out = self.analysis_outputs(section, name)
        return [{"kind": "analysis", "section": section, "figure": out["figure"], "metrics": out["metrics"],
                 "title": f"{name} ({kind.description})", "description": kind.description}]

    def report_inputs(self, manifest_of=None) -> list:
        files = []
        for section in self.report_layout(manifest_of):
            for item in section["items"]:
                files += [item[k] for k in ("figure", "metrics", "cube", "table", "path") if k in item]
        return list(dict.fromkeys(files)) + [self.checkpoint_files(m)["record"] for m in self.models]

    # ---- targets ------------------------------------------------------------------------------
    def metrics_files(self) -> list:
        """Every analysis' metrics JSON (RDM requests' separability is read from their cubes)."""
        return [self.analysis_outputs(sec, name)["metrics"] for (sec, name) in self.analyses]

    def summary_rdm_figures(self, manifest_of=None) -> list:
        """[request, cube, layers] of every RDM figure: the separability rows of the summary table."""
        return [[r, self.rdm_figure_cube(r, m, s), self.resolve(m, req, manifest_of)]
                for (r, m, s), req in self.rdm_figures.items()]

    def targets(self) -> list:
        """Every output of ``rule all``: each figure and table the report shows among them."""
        out = []
        for m in self.models:
            out += list(self.checkpoint_files(m).values())
        out += [self.stimuli_path(s) for s in self.sets]
        if self.accuracy_pairs():
            out += [f"{self.results}/accuracy.csv", f"{self.results}/figures/accuracy.png"]
        out += [self.cube_path(*key) for key in self.model_cubes]
        out += [self.path_of(LabelsCube(*key)) for key in sorted(self.labels_cubes)]
        out += [self.path_of(ReferenceCube(*key)) for key in sorted(self.reference_cubes)]
        out += [self.rdm_figure_path(*key) for key in self.rdm_figures]
        for (section, name) in self.analyses:
            out += list(self.analysis_outputs(section, name).values())
        if self.rdm_figures or self.analyses:
            out.append(f"{self.results}/metrics/summary.csv")
        out.append(f"{self.results}/report.html")
        return out


def _hashable(request):
    return tuple(request) if isinstance(request, list) else request

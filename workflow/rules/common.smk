# Config validation, paths, input functions and code-version params. No rules here.
import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(workflow.basedir, "src"))

from repgeom.config import ConfigError, load_schema, validate as validate_config
from repgeom import nodes as repgeom_nodes
from repgeom.stimuli import expand_sets
from repgeom.dimreduction import embedding_id

try:
    config = validate_config(config, load_schema(os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml")))
except ConfigError as err:
    raise WorkflowError(str(err)) from None

RESULTS = config["results"]
RESOURCES = config["resources_dir"]
MODELS = config["models"]
STIM_SETS = expand_sets(config["stimuli"])  # concrete set id -> spec (eps sweeps expanded)
SRC = os.path.join(workflow.basedir, "src", "repgeom")
FEATURE_OPTS = config["features"]


def _alternatives(names):
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or "NONE"


wildcard_constraints:
    model=_alternatives(MODELS),
    set=_alternatives(STIM_SETS),
    method="[a-z]+",
    analysis=_alternatives(list(config["paths"]) + list(config["dimreduction"])),
    request=_alternatives(config["rdms"]),
    comparison=_alternatives(config["path_comparisons"]),
    embedding="(pca|mds|tsne)-[a-z0-9.-]+",


def code_version(step, *modules):
    """Hash of a step's source and of the core modules it uses: a param, so code edits rerun exactly the affected rules."""
    h = hashlib.sha256()
    for name in (f"steps/{step}", "steps/_shell") + modules:
        with open(os.path.join(SRC, f"{name}.py"), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def as_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


# ---- models -------------------------------------------------------------------------------------

def model_spec(wildcards):
    """What defines a model's weights (figure labels and colours don't, so editing them retrains nothing)."""
    spec = MODELS[wildcards.model]
    return as_json({k: v for k, v in spec.items() if k not in ("label", "color")})


def has_url(model):
    return bool((MODELS[model].get("checkpoint") or {}).get("url"))


def checkpoint_inputs(wildcards):
    inputs = {"data": f"{RESULTS}/data/mnist.npz"}
    if has_url(wildcards.model):
        inputs["fetched"] = f"{RESOURCES}/checkpoints/{wildcards.model}"
    path = (MODELS[wildcards.model].get("checkpoint") or {}).get("path")
    if path:
        inputs["local"] = path
    return inputs


def fetched_arg(wildcards, input):
    return f"--fetched {input.fetched}" if "fetched" in input.keys() else ""


def checkpoint_files(model):
    return {"checkpoint": f"{RESULTS}/checkpoints/{model}.pt", "record": f"{RESULTS}/checkpoints/{model}.json"}


# ---- stimulus sets ------------------------------------------------------------------------------

def sets_of(names):
    """Concrete set ids for config set names (an eps sweep stands for all its sets)."""
    out = []
    for name in names:
        out += [s for s, spec in STIM_SETS.items() if s == name or spec.get("sweep") == name]
    return out


def stimuli_inputs(wildcards):
    spec = STIM_SETS[wildcards.set]
    if spec["kind"] != "fgsm":
        return {"data": f"{RESULTS}/data/mnist.npz"}
    return {"base": f"{RESULTS}/stimuli/{spec['base']}.zarr", **checkpoint_files(spec["model"])}


def stimuli_args(wildcards, input):
    if "base" in input.keys():
        return f"--base {input.base} --checkpoint {input.checkpoint} --record {input.record}"
    return f"--data {input.data}"


# ---- features and RDM cubes -------------------------------------------------------------------

def _model_nodes(model, request):
    spec = MODELS[model]
    return repgeom_nodes.resolve(spec["arch"], request, spec.get("time_steps", 5))


def _union(model, lists):
    order = repgeom_nodes.node_names(MODELS[model]["arch"], MODELS[model].get("time_steps", 5))
    wanted = set().union(*lists) if lists else set()
    return [n for n in order if n in wanted]


def rdm_cubes():
    """{(method, model, set): nodes} over every RDM request and every path analysis."""
    cubes = {}
    for req in config["rdms"].values():
        for model in req["models"]:
            for s in sets_of(req["stimuli"]):
                key = (req["method"], model, s)
                cubes.setdefault(key, []).append(_model_nodes(model, req["nodes"]))
    for req in config["paths"].values():
        for model in req["models"]:
            key = (req["rdm_method"], model, req["stimuli"])
            cubes.setdefault(key, []).append(_model_nodes(model, req["nodes"]))
    return {k: _union(k[1], v) for k, v in cubes.items()}


RDM_CUBES = rdm_cubes()


DIMRED = config["dimreduction"]


def _embedding_key(spec, method):
    return (spec["model"], spec["stimuli"], embedding_id(method, spec["seed"], spec["perplexity"]))


def embeddings():
    """{(model, set, embedding id): recipe + union of nodes}: analyses asking for the same embedding share one job."""
    out = {}
    for spec in DIMRED.values():
        for method in spec["methods"]:
            key = _embedding_key(spec, method)
            entry = out.setdefault(key, {"method": method, "seed": spec["seed"], "perplexity": spec["perplexity"],
                                         "nodes": []})
            entry["nodes"].append(_model_nodes(spec["model"], spec["nodes"]))
    for (model, s, _), entry in out.items():
        entry["nodes"] = _union(model, entry["nodes"])
    return out


EMBEDDINGS = embeddings()


def feature_stores():
    """{(model, set): nodes}: what every consumer of that model's features on that set needs."""
    stores = {}
    for (method, model, s), nodes in RDM_CUBES.items():
        stores.setdefault((model, s), []).append(nodes)
    for (model, s, _), entry in EMBEDDINGS.items():
        stores.setdefault((model, s), []).append(entry["nodes"])
    return {k: _union(k[0], v) for k, v in stores.items()}


FEATURE_STORES = feature_stores()


def feature_nodes(wildcards):
    return as_json(FEATURE_STORES[(wildcards.model, wildcards.set)])


def cube_nodes(wildcards):
    return as_json(RDM_CUBES[(wildcards.method, wildcards.model, wildcards.set)])


def feature_inputs(wildcards):
    return {"stimuli": f"{RESULTS}/stimuli/{wildcards.set}.zarr", **checkpoint_files(wildcards.model)}


def feature_mem_mb(wildcards):
    n = _set_size(wildcards.set)
    return 1000 + n // 2


def rdm_mem_mb(wildcards):
    n = _set_size(wildcards.set)
    return int(1000 + 3 * 4 * n * n / 1e6 + 0.4 * n)


def rdm_threads(wildcards):
    """BLAS threads of an RDM job: small sets are start-up bound, so one thread and more jobs side by side."""
    return 1 if _set_size(wildcards.set) <= 1000 else 4


def _set_size(s):
    spec = STIM_SETS[s]
    if spec["kind"] == "fgsm":
        return _set_size(spec["base"])
    return spec["n"] * (10 if spec["kind"] == "per_class" else 1)


# ---- path analyses -----------------------------------------------------------------------------

PATHS = config["paths"]


def path_cubes(wildcards):
    spec = PATHS[wildcards.analysis]
    return [f"{RESULTS}/rdms/{spec['rdm_method']}/{m}/{spec['stimuli']}.zarr" for m in spec["models"]]


def path_spec(wildcards):
    spec = dict(PATHS[wildcards.analysis])
    spec["nodes"] = {m: _model_nodes(m, spec["nodes"]) for m in spec["models"]}
    spec["labels_text"] = {m: MODELS[m].get("label", m) for m in spec["models"]}
    spec["colors"] = {m: MODELS[m].get("color") for m in spec["models"]}
    return as_json(spec)


def rdm_figures():
    """{(request, model, set): (cube path, nodes)} for every `rdms` request."""
    out = {}
    for name, req in config["rdms"].items():
        for model in req["models"]:
            for s in sets_of(req["stimuli"]):
                cube = f"{RESULTS}/rdms/{req['method']}/{model}/{s}.zarr"
                out[(name, model, s)] = (cube, _model_nodes(model, req["nodes"]))
    return out


RDM_FIGURES = rdm_figures()


def embedding_spec(wildcards):
    return as_json(EMBEDDINGS[(wildcards.model, wildcards.set, wildcards.embedding)])


def embedding_store(model, s, eid):
    return f"{RESULTS}/embeddings/{model}/{s}/{eid}.zarr"


def dimred_embeddings(wildcards):
    """The analysis' embedding stores, in the order of its methods."""
    spec = DIMRED[wildcards.analysis]
    return [embedding_store(*_embedding_key(spec, m)) for m in spec["methods"]]


def dimred_spec(wildcards):
    spec = dict(DIMRED[wildcards.analysis])
    spec["nodes"] = _model_nodes(spec["model"], spec["nodes"])
    return as_json(spec)


def metrics_files():
    """Every metrics JSON of the run: separability per RDM figure, distances per path, Procrustes per comparison."""
    out = [f"{RESULTS}/metrics/separability/{r}/{m}/{s}.json" for (r, m, s) in RDM_FIGURES]
    out += [f"{RESULTS}/metrics/paths/{a}.json" for a in PATHS]
    out += [f"{RESULTS}/metrics/path_comparisons/{c}.json" for c in config["path_comparisons"]]
    return out


# ---- targets ------------------------------------------------------------------------------------

def all_outputs():
    out = []
    for m in MODELS:
        out += list(checkpoint_files(m).values())
    out += [f"{RESULTS}/stimuli/{s}.zarr" for s in STIM_SETS]
    if STIM_SETS:
        out.append(f"{RESULTS}/accuracy.csv")
    out += [f"{RESULTS}/rdms/{method}/{model}/{s}.zarr" for (method, model, s) in RDM_CUBES]
    out += [f"{RESULTS}/paths/{a}.zarr" for a in PATHS]
    out += [f"{RESULTS}/figures/paths/{a}.png" for a in PATHS]
    out += [f"{RESULTS}/figures/rdms/{r}/{m}/{s}.png" for (r, m, s) in RDM_FIGURES]
    out += [f"{RESULTS}/dimreduction/{a}.zarr" for a in DIMRED]
    out += [f"{RESULTS}/figures/path_comparisons/{c}.png" for c in config["path_comparisons"]]
    if STIM_SETS:
        out.append(f"{RESULTS}/figures/accuracy.png")
    if metrics_files():
        out.append(f"{RESULTS}/metrics/summary.csv")
    return out

# Config validation and input functions over repgeom.plan (the planning logic, unit-tested without Snakemake).
# No rules here.
import hashlib
import json
import os
import re
import shlex
import sys
import time

sys.path.insert(0, os.path.join(workflow.basedir, "src"))

from snakemake.utils import update_config

from repgeom.config import ConfigError, load_schema, load_yaml, validate as validate_config
from repgeom.analyses import ANALYSES
from repgeom import plugins
from repgeom.codehash import step_hash
from repgeom.plan import Plan, as_json
from repgeom.runinfo import failure_lines, summary_lines

RUN_STARTED = time.time()


def shown_path(path):
    """A config file's path as the report shows it: relative to the working folder when inside it (so a run
    copied or moved elsewhere does not redraw its report for a path alone)."""
    rel = os.path.relpath(os.path.abspath(str(path)))
    return str(path) if rel.startswith("..") else rel


def uses_conda():
    """Whether jobs run in their own conda environments (--software-deployment-method conda)."""
    try:
        from snakemake_interface_executor_plugins.settings import DeploymentMethod

        return DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    except (ImportError, AttributeError):
        return False
DEFAULT_CONFIGFILE = "config.yaml"


def load_config():
    """config.yaml (as Snakemake's configfile directive would), then --configfile files and --config values.

    A --configfile is an overlay, merged onto config.yaml key by key, unless it says ``standalone: true``: then
    it is the whole config and config.yaml is not read (an example's config, run from the repository root).
    Every file is read with repgeom's strict YAML loader, so a syntax error names its line and column and a
    key given twice is refused (Snakemake's own loader keeps the last one silently).
    """
    merged = {}
    given = [load_yaml(str(path)) for path in workflow.overwrite_configfiles]  # checked strictly
    standalone = any(isinstance(c, dict) and c.get("standalone") is True for c in given)
    if standalone:
        pass
    elif os.path.exists(DEFAULT_CONFIGFILE):
        update_config(merged, load_yaml(DEFAULT_CONFIGFILE))
    elif not workflow.overwrite_configfiles:
        raise ConfigError(f"no {DEFAULT_CONFIGFILE} in {os.getcwd()} and no --configfile given")
    update_config(merged, config)  # --configfile contents and --config values win, as with the directive
    return merged


try:
    config = load_config()
    # the user's kinds (config plugins:) first, so the schema and the plan know them; the jobs get them too
    PLUGINS = plugins.load(config.get("plugins") or [] if isinstance(config.get("plugins"), list) else [])
    plugins.export(PLUGINS)
    config = validate_config(config,
                             load_schema(os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml")))
except (ConfigError, plugins.PluginError) as err:
    raise WorkflowError(str(err)) from None

PLAN = Plan(config)
RESULTS = PLAN.results
RESOURCES = PLAN.resources
MODELS = PLAN.models  # concrete: a family of seeds is one model per seed
FEATURE_OPTS = config["features"]


def _alternatives(names):
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or "NONE"


wildcard_constraints:
    model=_alternatives(MODELS),
    set=_alternatives(PLAN.sets),
    method=_alternatives({m for (m, _, _) in PLAN.model_cubes} | {m for (m, _) in PLAN.labels_cubes}),
    section=_alternatives(ANALYSES.names()),
    name=_alternatives({n for (_, n) in PLAN.analyses}),
    request=_alternatives(config["rdms"]),
    reference=_alternatives(PLAN.references),
    embedding="[a-z]+-[a-z0-9.-]+",


def code_version(step, *kinds):
    """The hash of every module the step imports (and of ``kinds``' modules, and the plug-ins): a param, so an
    edit reruns exactly the jobs whose code it touches (repgeom.codehash)."""
    return step_hash(step, kinds, PLUGINS)


def mnist_inputs(wildcards):
    from repgeom.mnist import IDX_FILES, _find_idx, has_idx

    folder = config["data"]["idx_dir"]
    if config["data"]["source"] in ("idx", "auto") and folder and has_idx(folder):
        return [_find_idx(folder, stem) for stem in IDX_FILES.values()]
    return []


# ---- models: manifests (a Snakemake checkpoint for kinds whose nodes only tracing knows) ---------------

def manifest_of(model):
    """The node manifest in the model record; the record comes from the prepare_model checkpoint."""
    record = checkpoints.prepare_model.get(model=model).output.record
    with open(record) as f:
        return json.load(f)["manifest"]


def manifests_for(models):
    """Model records of the non-static models among ``models`` (raises until their checkpoint job has run)."""
    return [checkpoints.prepare_model.get(model=m).output.record for m in models if not PLAN.is_static(m)]


def model_inputs(wildcards):
    m = wildcards.model
    inputs = {}
    if PLAN.model_needs_mnist(m):
        inputs["data"] = PLAN.mnist_path()
    if PLAN.fetches(m):
        inputs["fetched"] = PLAN.fetch_dir(m)
    path = (MODELS[m].get("checkpoint") or {}).get("path")
    if path:
        inputs["local"] = path
    return inputs


def model_args(wildcards, input):
    args = [f"--{key} {getattr(input, key)}" for key in ("data", "fetched") if key in input.keys()]
    return " ".join(args)


# ---- stimulus sets ------------------------------------------------------------------------------

def stimuli_inputs(wildcards):
    return PLAN.set_inputs(wildcards.set)


def stimuli_args(wildcards, input):
    return " ".join(f"--{key} {getattr(input, key)}" for key in ("data", "base", "checkpoint", "record")
                    if key in input.keys())


def stimuli_spec(wildcards):
    spec = dict(PLAN.sets[wildcards.set])
    listing = PLAN.stimulus_kind(wildcards.set).listing(spec)
    if listing:
        spec["listing"] = listing
    return as_json(spec)


# ---- features and cubes ---------------------------------------------------------------------------

def feature_inputs(wildcards):
    return {"stimuli": PLAN.stimuli_path(wildcards.set), **PLAN.checkpoint_files(wildcards.model)}


def feature_nodes(wildcards):
    return as_json(PLAN.feature_nodes(wildcards.model, wildcards.set, manifest_of))


def model_manifests(wildcards):
    """The model's record when its nodes come from tracing (a checkpoint): its own input, so that a dry run,
    before the checkpoint has run, still knows every other input of the job."""
    return manifests_for([wildcards.model])


def rdm_inputs(wildcards):
    return {"features": PLAN.features_path(wildcards.model, wildcards.set)}


def cube_nodes(wildcards):
    return as_json(PLAN.cube_nodes(wildcards.method, wildcards.model, wildcards.set, manifest_of))


def reference_inputs(wildcards):
    spec = PLAN.references[wildcards.reference]
    inputs = {"reference": spec["path"], "stimuli": PLAN.stimuli_path(wildcards.set)}
    if isinstance(spec.get("stimulus_order"), str):
        inputs["order"] = spec["stimulus_order"]
    return inputs


def rdm_figure_inputs(wildcards):
    return {"cube": PLAN.rdm_figure_cube(wildcards.request, wildcards.model, wildcards.set)}


def rdm_figure_nodes(wildcards):
    request = PLAN.rdm_figures[(wildcards.request, wildcards.model, wildcards.set)]
    return as_json(PLAN.resolve(wildcards.model, request, manifest_of))


def rdm_figure_display(wildcards):
    return as_json(PLAN.model_display(wildcards.model))


# ---- embeddings and analyses -------------------------------------------------------------------------

def embedding_spec(wildcards):
    entry = PLAN.embeddings[(wildcards.model, wildcards.set, wildcards.embedding)]
    nodes = PLAN.union(wildcards.model, entry["requests"], manifest_of)
    return as_json({k: entry[k] for k in ("method", "seed", "perplexity")} | {"nodes": nodes})


def embedding_inputs(wildcards):
    return {"features": PLAN.features_path(wildcards.model, wildcards.set)}


def analysis_inputs(wildcards):
    return {"inputs": PLAN.analysis_inputs(wildcards.section, wildcards.name)}


def analysis_manifests(wildcards):
    return manifests_for(PLAN.analysis_models(wildcards.section, wildcards.name))


def analysis_spec(wildcards):
    return as_json(PLAN.analysis_job(wildcards.section, wildcards.name, manifest_of))


def analysis_code(wildcards):
    return code_version("analysis", ANALYSES[wildcards.section])


def analysis_figure_code(wildcards):
    return code_version("analysis_figure", ANALYSES[wildcards.section])


def analysis_display(wildcards):
    return as_json(PLAN.analysis_display(wildcards.section, wildcards.name))


def summary_inputs(wildcards):
    return {"metrics": PLAN.metrics_files(), "cubes": sorted({PLAN.rdm_figure_cube(*k) for k in PLAN.rdm_figures})}


def summary_manifests(wildcards):
    return manifests_for(list(dict.fromkeys(m for (_, m, _) in PLAN.rdm_figures)))


def summary_figures(wildcards):
    return as_json(PLAN.summary_rdm_figures(manifest_of))


def report_inputs(wildcards):
    models = list(dict.fromkeys(m for (_, m, _) in PLAN.rdm_figures))
    return {"files": PLAN.report_inputs(manifest_of), "manifests": manifests_for(models)}


def report_layout(wildcards):
    return as_json(PLAN.report_layout(manifest_of))


def report_info(wildcards):
    rep = config.get("report") or {}
    digest = hashlib.sha256(as_json(config).encode()).hexdigest()[:16]
    return as_json({"title": rep.get("title") or "repgeom report", "subtitle": rep.get("subtitle", ""),
                    "models": list(MODELS), "config_digest": digest,
                    "configfiles": ", ".join(map(shown_path, workflow.overwrite_configfiles)) or DEFAULT_CONFIGFILE})


# ---- accuracy -------------------------------------------------------------------------------------

ACCURACY_PAIRS = PLAN.accuracy_pairs()
ACCURACY_MODELS = list(dict.fromkeys(m for m, _ in ACCURACY_PAIRS))
ACCURACY_SETS = list(dict.fromkeys(s for _, s in ACCURACY_PAIRS))

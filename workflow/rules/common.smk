# Config validation, paths, input functions and code-version params. No rules here.
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(workflow.basedir, "src"))

from repgeom.config import ConfigError, load_schema, validate as validate_config

try:
    config = validate_config(config, load_schema(os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml")))
except ConfigError as err:
    raise WorkflowError(str(err)) from None

RESULTS = config["results"]
RESOURCES = config["resources_dir"]
MODELS = config["models"]
SRC = os.path.join(workflow.basedir, "src", "repgeom")


wildcard_constraints:
    model="|".join(sorted(MODELS)),


def code_version(*modules):
    """Hash of the source of the named repgeom modules: a param, so code edits rerun exactly the affected rules."""
    h = hashlib.sha256()
    for name in ("__main__",) + modules:
        with open(os.path.join(SRC, f"{name}.py"), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def as_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def model_spec(wildcards):
    return as_json(MODELS[wildcards.model])


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


def all_outputs():
    out = []
    for m in MODELS:
        out += [f"{RESULTS}/checkpoints/{m}.pt", f"{RESULTS}/checkpoints/{m}.json"]
    return out

"""Validate a workflow config against the JSON schema (filling defaults) and check cross-references.

The schema is ``workflow/schemas/config.schema.yaml`` (the sections every run
has) completed from the registries: model kinds, stimulus kinds, RDM methods,
comparisons, path entries, reference formats, dimensionality reductions and
analysis sections each contribute their enum and their keys, so a kind is
declared once, in its module.  ``python -m repgeom.config`` prints the
assembled schema.

Errors name the offending key as a dotted path and, where there is a fixed
set of choices, the allowed values; every problem is reported at once.
"""

from __future__ import annotations

import copy
import json
import os
import sys

import jsonschema
import numpy as np
import yaml

from . import analyses, mnist, training
from .dimreduction import REDUCTIONS
from .entries import RESERVED_NAMES
from .mnist import IDX_FILES, MnistUnavailable, _find_idx, has_idx, idx_header
from .models import CHECKPOINT_SCHEMA, MODEL_KINDS, SEEDS_SCHEMA
from .names import Names
from .plan import Plan
from .preprocess import SCHEMA as PREPROCESS_SCHEMA
from .rdm import method_id, method_schema
from .references import REFERENCE_FORMATS, format_of
from .stimuli import STIMULUS_KINDS


class ConfigError(ValueError):
    """The config does not describe a runnable workflow."""


def _with_defaults(cls):
    validate_properties = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if "default" in sub and prop not in instance:
                    instance[prop] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(cls, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def _where(path, aliased=()):
    parts = [str(p) for p in path]
    if len(parts) >= 3 and parts[0] == "models" and parts[2] == "kind" and parts[1] in aliased:
        parts[2] = "arch"
    return "config." + ".".join(parts) if parts else "config"


def _message(err, aliased=()):
    where = _where(err.absolute_path, aliased)
    if err.validator == "enum":
        return f"{where}: {err.instance!r} is not allowed; allowed values: {err.validator_value}"
    if err.validator in ("oneOf", "anyOf") and err.context:
        inner = sorted({_message(e, aliased) for e in err.context})
        return f"{where}: matches none of the allowed forms: " + "; ".join(inner)
    return f"{where}: {err.message}"


NODES_SCHEMA = {
    "description": "all, layers (input + conv + linear layers; the tutorial's input/conv/fc filter) or a list of "
                   "node names (a module name such as layer4 means its last node)",
    "oneOf": [{"type": "string", "enum": ["all", "layers"]},
              {"type": "array", "minItems": 1, "items": {"type": "string"}}],
}

REFERENCE_SCHEMA_KEYS = {
    "path": {"type": "string", "description": "the file (or Zarr cube folder)"},
    "variable": {"type": ["string", "null"], "default": None,
                 "description": "npz/mat: the array (or struct array) holding the RDMs"},
    "field": {"type": ["string", "null"], "default": None, "description": "mat struct arrays: the RDM field (RDM)"},
    "select": {"type": ["array", "null"], "default": None, "items": {"type": ["string", "integer"]},
               "description": "keep these RDMs (names or positions)"},
    "stimulus_order": {"default": None, "description": "the stimulus ids of the file's rows: a list or a text file",
                       "oneOf": [{"type": "null"}, {"type": "string"},
                                 {"type": "array", "items": {"type": ["string", "integer"]}}]},
    "stimulus_descriptor": {"type": ["string", "null"], "default": None,
                            "description": "rsatoolbox files: the pattern descriptor holding stimulus ids (stim)"},
    "label": {"type": "string", "description": "name shown in figures"},
    "color": {"type": "string", "description": "matplotlib colour of its marker"},
    "marker": {"type": "string", "description": "matplotlib marker (default: one per reference)"},
}


def assemble(base: dict) -> dict:
    """The full schema: ``base`` (the YAML file) completed from the registries."""
    schema = copy.deepcopy(base)
    props = schema["properties"]
    schema.setdefault("$defs", {})["nodes"] = NODES_SCHEMA
    props["data"]["properties"]["source"]["enum"] = list(mnist.SOURCES)

    recipe = props["models"].pop("x-train")
    recipe["properties"]["recipe"]["enum"] = list(training.RECIPES)
    common = {"kind": {"type": "string", "enum": MODEL_KINDS.names(), "description": "; ".join(
                  f"{k} = {MODEL_KINDS[k].description}" for k in MODEL_KINDS)},
              "label": {"type": "string", "description": "name shown in figures (defaults to the model's key)"},
              "color": {"type": "string", "description": "matplotlib colour of the model in every figure"},
              "checkpoint": CHECKPOINT_SCHEMA,
              "preprocess": PREPROCESS_SCHEMA,
              "seeds": SEEDS_SCHEMA}
    branches = []
    for name in MODEL_KINDS:
        kind = MODEL_KINDS[name]
        keys = {k: {} for k in common}
        keys.update(kind.properties)
        if kind.trainable:
            keys["train"] = recipe
        branches.append({"if": {"properties": {"kind": {"const": name}}},
                         "then": {"additionalProperties": False, "required": list(kind.required),
                                  "properties": keys}})
    props["models"]["propertyNames"]["not"] = {"enum": list(RESERVED_NAMES)}
    props["models"]["additionalProperties"] = {"type": "object", "required": ["kind"], "properties": common,
                                               "allOf": branches}

    branches = []
    for name in STIMULUS_KINDS:
        kind = STIMULUS_KINDS[name]
        branches.append({"if": {"properties": {"kind": {"const": name}}},
                         "then": {"additionalProperties": False, "required": ["kind", *kind.required],
                                  "properties": {"kind": {}, **kind.properties}}})
    props["stimuli"]["additionalProperties"] = {
        "type": "object", "required": ["kind"], "allOf": branches,
        "properties": {"kind": {"type": "string", "enum": STIMULUS_KINDS.names(), "description": "; ".join(
            f"{k} = {STIMULUS_KINDS[k].description}" for k in STIMULUS_KINDS)}}}

    schema["$defs"]["rdm_method"] = method_schema()
    rdms = props["rdms"]["additionalProperties"]["properties"]
    rdms["method"] = {"$ref": "#/$defs/rdm_method", "default": "correlation"}
    rdms["nodes"] = {"$ref": "#/$defs/nodes", "default": "all"}

    props["references"]["additionalProperties"] = {
        "type": "object", "additionalProperties": False, "required": ["path"],
        "properties": {**REFERENCE_SCHEMA_KEYS,
                       "format": {"type": ["string", "null"], "enum": REFERENCE_FORMATS.names() + [None],
                                  "default": None, "description": "; ".join(
                                      f"{k} = {REFERENCE_FORMATS[k].description}" for k in REFERENCE_FORMATS)}}}
    props["references"]["propertyNames"]["not"] = {"enum": list(RESERVED_NAMES)}

    for section in analyses.ANALYSES:
        kind = analyses.ANALYSES[section]
        props[section] = {"type": "object", "default": {}, "description": f"name -> {kind.description}",
                          "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_-]*$"},
                          "additionalProperties": kind.schema}
    return schema


class _StrictLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (plain YAML keeps the last one, silently)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"line {key_node.start_mark.line + 1}, column {key_node.start_mark.column + 1}: "
                                  f"key {key!r} is given twice in this mapping (first at line {seen[key] + 1}); "
                                  f"YAML would silently keep the last one")
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def load_yaml(path):
    """A config file's contents; syntax errors and repeated keys are errors naming the file, line and column."""
    try:
        with open(path) as f:
            return yaml.load(f, Loader=_StrictLoader) or {}
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = ""
        if err.context and err.context_mark and err.problem:
            context = f" ({err.context} at line {err.context_mark.line + 1}, column {err.context_mark.column + 1})"
        raise ConfigError(f"{path}: {where}{err.problem or err.context}{context}") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror})") from None


def load_schema(path):
    """The assembled schema (the YAML file at ``path`` completed from the registries)."""
    with open(path) as f:
        return assemble(yaml.safe_load(f))


def _normalise_aliases(cfg):
    """``arch:`` (the original key) is accepted for ``kind:``; returns the models that used it."""
    aliased = set()
    for name, spec in (cfg.get("models") or {}).items():
        if isinstance(spec, dict) and "arch" in spec:
            if "kind" in spec:
                raise ConfigError(f"invalid config:\n  - config.models.{name}: give kind or arch (its old "
                                  f"name), not both")
            spec["kind"] = spec.pop("arch")
            aliased.add(name)
    return aliased


def _node_problems(cfg):
    """Node lists checked against the static node names of the tutorial's networks (others: at their manifest)."""
    plan = Plan(cfg)
    problems = []
    for (name, model, s), request in plan.rdm_figures.items():
        problems += _try(plan, model, request, f"config.rdms.{name}.nodes")
    for (section, name) in plan.analyses:
        for r in plan.analysis_requests(section, name):
            if hasattr(r, "nodes") and hasattr(r, "model"):
                problems += _try(plan, r.model, r.nodes, f"config.{section}.{name}.nodes")
    return sorted(set(problems), key=problems.index)


def _try(plan, model, request, where):
    if not plan.is_static(model):
        return []
    try:
        plan.resolve(model, request)
    except ValueError as err:
        return [f"{where}: {err}"]
    return []


def _source_problems(cfg):
    """What the MNIST source allows, known before any job runs."""
    problems = []
    data = cfg.get("data", {})
    if data.get("source") == "idx":
        folder = data.get("idx_dir")
        if not folder:
            problems.append("config.data.idx_dir: needed with source: idx (the folder of the four IDX files)")
        elif not has_idx(folder):
            missing = [s for s in IDX_FILES.values() if not _find_idx(folder, s)]
            problems.append(f"config.data.idx_dir: {folder!r} lacks {missing}")
        else:
            try:
                counts = {key: idx_header(_find_idx(folder, stem))[0] for key, stem in IDX_FILES.items()}
                for split in ("train", "test"):
                    if counts[f"{split}_images"] != counts[f"{split}_labels"]:
                        problems.append(
                            f"config.data.idx_dir: {_find_idx(folder, IDX_FILES[split + '_images'])} holds "
                            f"{counts[split + '_images']:,} images but "
                            f"{_find_idx(folder, IDX_FILES[split + '_labels'])} {counts[split + '_labels']:,} labels")
            except MnistUnavailable as err:
                problems.append(f"config.data.idx_dir: {err}")
    return problems


def _heldout_counts(cfg):
    """Held-out digits per class of the configured MNIST source, where the config alone tells (else None)."""
    data = cfg.get("data", {})
    if data.get("source") == "embedded":
        return np.full(10, int(data.get("embedded_heldout_per_class", 100)))
    if data.get("source") == "idx" and data.get("idx_dir"):
        path = _find_idx(data["idx_dir"], "t10k-labels-idx1-ubyte")
        if path and not path.endswith(".gz"):
            labels = np.fromfile(path, dtype=np.uint8, offset=8)
            return np.bincount(labels, minlength=10)
    return None


def _size_problems(cfg):
    """Stimulus sets larger than the held-out split; t-SNE perplexities too large for their set."""
    problems = []
    counts = _heldout_counts(cfg)
    if counts is not None:
        for name, spec in (cfg.get("stimuli") or {}).items():
            problems += STIMULUS_KINDS[spec["kind"]].check_heldout(name, spec, counts, cfg["data"]["source"])
    if problems:
        return problems
    plan = Plan(cfg)
    for name, spec in (cfg.get("dimreduction") or {}).items():
        if spec.get("stimuli") in plan.sets:
            n = plan.set_size(spec["stimuli"])
            for method in spec.get("methods", []):
                why = REDUCTIONS[method].check(spec["perplexity"], n)
                if why:
                    problems.append(f"config.dimreduction.{name}.perplexity: {why}")
    return problems


def _cross_checks(cfg):
    problems = []
    models = cfg.get("models", {})
    for name, spec in models.items():
        problems += MODEL_KINDS[spec["kind"]].check(name, spec)
    stimuli = cfg.get("stimuli", {})
    names = Names(cfg)
    for name, spec in stimuli.items():
        problems += STIMULUS_KINDS[spec["kind"]].check(name, spec, names)
    for name, spec in (cfg.get("rdms") or {}).items():
        problems += names.check_models(spec.get("models", []), f"config.rdms.{name}.models")
        problems += names.check_sets(spec.get("stimuli", []), f"config.rdms.{name}.stimuli", sweep=True)
    for name, spec in (cfg.get("references") or {}).items():
        if name in models or name in names.families or name in names.models:
            problems.append(f"config.references.{name}: a model has this name too; names must tell entries apart")
        if not os.path.exists(spec["path"]):
            problems.append(f"config.references.{name}.path: {spec['path']!r} does not exist")
            continue
        try:
            format_of(spec)
        except ValueError as err:
            problems.append(f"config.references.{name}.path: {err}")
        order = spec.get("stimulus_order")
        if isinstance(order, str) and not os.path.isfile(order):
            problems.append(f"config.references.{name}.stimulus_order: file {order!r} does not exist")
    for section in analyses.ANALYSES:
        for name, spec in (cfg.get(section) or {}).items():
            problems += analyses.ANALYSES[section].check(name, spec, names)
    known = {"accuracy", "summary"} | {f"rdms/{r}" for r in (cfg.get("rdms") or {})}
    known |= {f"{s}/{n}" for s in analyses.ANALYSES for n in (cfg.get(s) or {})}
    for k, section in enumerate((cfg.get("report") or {}).get("sections", [])):
        for item in section["items"]:
            if item not in known:
                problems.append(f"config.report.sections.{k}.items: unknown item {item!r}; known: {sorted(known)}")
    problems += _source_problems(cfg)
    if not problems:
        problems += _size_problems(cfg)
    if not problems:
        problems += _node_problems(cfg)
    return problems


def _normalise_methods(cfg, schema) -> list:
    """Every RDM-method value (a property whose schema is ``$defs/rdm_method``, in any section's entries) turned
    into its id (``poisson+prior_lambda=2``): what the plan, the cube folders and the jobs carry.  Returns the
    problems of values that name no method or a wrong parameter."""
    problems = []
    for section, sec_schema in schema["properties"].items():
        entry = (sec_schema.get("additionalProperties") or {}) if isinstance(sec_schema, dict) else {}
        keys = [k for k, v in (entry.get("properties") or {}).items()
                if isinstance(v, dict) and v.get("$ref") == "#/$defs/rdm_method"]
        entries = cfg.get(section) if keys and isinstance(cfg.get(section), dict) else {}
        for name, spec in entries.items():
            for key in keys:
                if isinstance(spec, dict) and key in spec:
                    try:
                        spec[key] = method_id(spec[key])
                    except ValueError as err:
                        problems.append(f"config.{section}.{name}.{key}: {err}")
    return problems


def validate(cfg, schema):
    """A validated copy of ``cfg`` with schema defaults filled in; raises ConfigError listing every problem."""
    cfg = copy.deepcopy(cfg if cfg is not None else {})
    aliased = _normalise_aliases(cfg)
    errors = sorted(_Validator(schema).iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path)))
    problems = [_message(e, aliased) for e in errors] + _normalise_methods(cfg, schema)
    if not problems:
        problems = _cross_checks(cfg)
    if problems:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(problems))
    return cfg


if __name__ == "__main__":  # print the assembled schema
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "workflow", "schemas", "config.schema.yaml")
    json.dump(load_schema(sys.argv[1] if len(sys.argv) > 1 else default), sys.stdout, indent=1)
    sys.stdout.write("\n")

"""Validate a workflow config against the JSON schema (filling defaults) and check cross-references.

Errors name the offending key as a dotted path and, where there is a fixed
set of choices, the allowed values; every problem is reported at once.
"""

import copy

import jsonschema
import yaml


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


def _where(path):
    return "config." + ".".join(str(p) for p in path) if path else "config"


def _message(err):
    if err.validator == "enum":
        return f"{_where(err.absolute_path)}: {err.instance!r} is not allowed; allowed values: {err.validator_value}"
    if err.validator in ("oneOf", "anyOf") and err.context:
        inner = sorted({_message(e) for e in err.context})
        return f"{_where(err.absolute_path)}: matches none of the allowed forms: " + "; ".join(inner)
    return f"{_where(err.absolute_path)}: {err.message}"


def load_schema(path):
    """The schema as a dict."""
    with open(path) as f:
        return yaml.safe_load(f)


def _cross_checks(cfg):
    from .stimuli import expand_sets

    problems = []
    models = cfg.get("models", {})
    for name, spec in models.items():
        ck = spec.get("checkpoint")
        if ck is None and "train" not in spec:
            problems.append(f"config.models.{name}: neither a checkpoint nor a train recipe; give one or both")
        if ck is not None and ck.get("url") and not ck.get("md5"):
            problems.append(f"config.models.{name}.checkpoint.md5: missing; a downloaded checkpoint must be verified")
        if ck is not None and not ck.get("url") and not ck.get("path"):
            problems.append(f"config.models.{name}.checkpoint: needs a url (with md5) or a local path")
    known_models = sorted(models)
    stimuli = cfg.get("stimuli", {})
    for name, spec in stimuli.items():
        if spec.get("kind") == "fgsm":
            if spec.get("model") not in models:
                problems.append(f"config.stimuli.{name}.model: unknown model {spec.get('model')!r}; "
                                f"configured models: {known_models}")
            base = spec.get("base")
            if base not in stimuli or base == name:
                problems.append(f"config.stimuli.{name}.base: unknown stimulus set {base!r}; "
                                f"configured sets: {sorted(stimuli)}")
            elif stimuli[base].get("kind") == "fgsm":
                problems.append(f"config.stimuli.{name}.base: {base!r} is itself an FGSM set; "
                                f"attack a clean set")
    for name, spec in (cfg.get("path_comparisons") or {}).items():
        for role in ("reference", "other"):
            if spec.get(role) not in (cfg.get("paths") or {}):
                problems.append(f"config.path_comparisons.{name}.{role}: unknown path analysis {spec.get(role)!r}; "
                                f"configured: {sorted(cfg.get('paths') or {})}")
    for name, spec in (cfg.get("dimreduction") or {}).items():
        if spec.get("model") not in models:
            problems.append(f"config.dimreduction.{name}.model: unknown model {spec.get('model')!r}; "
                            f"configured models: {known_models}")
        if spec.get("stimuli") not in expand_sets(stimuli):
            problems.append(f"config.dimreduction.{name}.stimuli: unknown stimulus set {spec.get('stimuli')!r}; "
                            f"configured sets: {sorted(expand_sets(stimuli))}")
    for section in ("rdms",):
        for name, spec in (cfg.get(section) or {}).items():
            refs = spec.get("models", [])
            if "model" in spec:
                refs = [spec["model"]]
            for m in refs:
                if m not in models:
                    problems.append(f"config.{section}.{name}: unknown model {m!r}; configured models: {known_models}")
            sets = spec.get("stimuli", [])
            sets = [sets] if isinstance(sets, str) else sets
            for s in sets:
                if s not in stimuli:
                    problems.append(f"config.{section}.{name}: unknown stimulus set {s!r}; "
                                    f"configured sets: {sorted(stimuli)}")
    for name, spec in (cfg.get("paths") or {}).items():
        for m in spec.get("models", []):
            if m not in models:
                problems.append(f"config.paths.{name}.models: unknown model {m!r}; configured models: {known_models}")
        concrete = expand_sets(stimuli)
        target = spec.get("stimuli")
        if target in stimuli and target not in concrete:
            sweep = sorted(s for s, v in concrete.items() if v.get("sweep") == target)
            problems.append(f"config.paths.{name}.stimuli: {target!r} is an eps sweep; name one of {sweep}")
        elif target not in concrete:
            problems.append(f"config.paths.{name}.stimuli: unknown stimulus set {target!r}; "
                            f"configured sets: {sorted(concrete)}")
    for section in ("rdms", "paths", "dimreduction"):
        for name, spec in (cfg.get(section) or {}).items():
            for m in spec.get("models") or [spec.get("model")]:
                if m in models and isinstance(spec.get("nodes"), list):
                    from .nodes import node_names

                    valid = node_names(models[m]["arch"], models[m].get("time_steps", 5))
                    bad = [n for n in spec["nodes"] if n not in valid]
                    if bad:
                        problems.append(f"config.{section}.{name}.nodes: unknown node(s) {bad} for model {m!r}; "
                                        f"valid: {valid}")
    return problems


def validate(cfg, schema):
    """A validated copy of ``cfg`` with schema defaults filled in; raises ConfigError listing every problem."""
    cfg = copy.deepcopy(cfg if cfg is not None else {})
    errors = sorted(_Validator(schema).iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path)))
    problems = [_message(e) for e in errors]
    if not problems:
        problems = _cross_checks(cfg)
    if problems:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(problems))
    return cfg

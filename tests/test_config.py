import copy
import os

import pytest
import yaml

from conftest import REPO
from repgeom import config as cfgmod
import numpy as np

from repgeom import mnist, training

SCHEMA = cfgmod.load_schema(os.path.join(REPO, "workflow/schemas/config.schema.yaml"))
with open(os.path.join(REPO, "config.yaml")) as f:
    DEFAULT = yaml.safe_load(f)


def _bad(mutate):
    cfg = copy.deepcopy(DEFAULT)
    mutate(cfg)
    with pytest.raises(cfgmod.ConfigError) as err:
        cfgmod.validate(cfg, SCHEMA)
    return str(err.value)


def test_default_config_is_valid_and_gets_defaults():
    cfg = cfgmod.validate(DEFAULT, SCHEMA)
    assert cfg["data"]["source"] == "auto"
    assert cfg["download"] == {"timeout": 15, "on_unreachable": "train", "torchvision_mirror": None}
    assert cfg["models"]["standard"]["train"]["batch_size"] == 64
    assert set(cfg["models"]) == {"standard", "adversarial", "recurrent", "new_seed"}
    assert "batch_size" not in DEFAULT["models"]["standard"]["train"], "input must not be mutated"


def test_unknown_model_kind_names_key_and_choices():
    msg = _bad(lambda c: c["models"]["standard"].update(kind="resnet"))
    assert "config.models.standard.kind" in msg and "'resnet'" in msg and "feedforward" in msg and "torchvision" in msg


def test_arch_is_the_old_name_of_kind():
    def old_style(c):
        c["models"]["standard"]["arch"] = c["models"]["standard"].pop("kind")
    cfg = copy.deepcopy(DEFAULT)
    old_style(cfg)
    assert cfgmod.validate(cfg, SCHEMA)["models"]["standard"]["kind"] == "feedforward"
    msg = _bad(lambda c: (old_style(c), c["models"]["standard"].update(arch="resnet")))
    assert "config.models.standard.arch: 'resnet' is not allowed" in msg
    msg = _bad(lambda c: c["models"]["standard"].update(arch="feedforward"))
    assert "give kind or arch" in msg


def test_unknown_data_source():
    msg = _bad(lambda c: c["data"].update(source="kaggle"))
    assert "config.data.source" in msg and "embedded" in msg and "torchvision" in msg


@pytest.mark.parametrize("eps", [-0.1, 1.5])
def test_eps_out_of_range(eps):
    msg = _bad(lambda c: c["models"]["adversarial"]["train"].update(fgsm_eps=eps))
    assert "config.models.adversarial.train.fgsm_eps" in msg


def test_url_without_md5():
    msg = _bad(lambda c: c["models"]["standard"]["checkpoint"].pop("md5"))
    assert "config.models.standard.checkpoint.md5" in msg and "missing" in msg


def test_malformed_md5():
    msg = _bad(lambda c: c["models"]["standard"]["checkpoint"].update(md5="abc"))
    assert "config.models.standard.checkpoint.md5" in msg


def test_model_with_neither_checkpoint_nor_training():
    msg = _bad(lambda c: c["models"]["new_seed"].pop("train"))
    assert "config.models.new_seed" in msg and "neither" in msg


def test_unknown_key_is_named():
    msg = _bad(lambda c: c["models"]["standard"].update(epochs=3))
    assert "config.models.standard" in msg and "'epochs'" in msg


def test_no_models():
    msg = _bad(lambda c: c.update(models={}))
    assert "config.models" in msg


def test_fgsm_set_with_unknown_model_and_base():
    cfg = copy.deepcopy(DEFAULT)
    cfg.setdefault("stimuli", {})["adv"] = {"kind": "fgsm", "base": "nope", "model": "ghost", "eps": [0.2]}
    problems = cfgmod._cross_checks(cfg)
    assert any("config.stimuli.adv.model" in p and "'ghost'" in p and "standard" in p for p in problems)
    assert any("config.stimuli.adv.base" in p and "'nope'" in p for p in problems)


def test_every_problem_is_reported_at_once():
    def two(c):
        c["models"]["standard"]["kind"] = "resnet"
        c["data"]["source"] = "kaggle"
    msg = _bad(two)
    assert "config.models.standard.kind" in msg and "config.data.source" in msg


def test_schema_enums_come_from_the_code_registries():
    from repgeom.analyses import ANALYSES
    from repgeom.compare import COMPARISONS
    from repgeom.dimreduction import REDUCTIONS
    from repgeom.models import MODEL_KINDS
    from repgeom.paths import DISTANCES
    from repgeom.rdm import RDM_METHODS
    from repgeom.references import REFERENCE_FORMATS
    from repgeom.stimuli import STIMULUS_KINDS

    props = SCHEMA["properties"]
    model = props["models"]["additionalProperties"]
    assert model["properties"]["kind"]["enum"] == MODEL_KINDS.names()
    assert [b["if"]["properties"]["kind"]["const"] for b in model["allOf"]] == MODEL_KINDS.names()
    assert set(props["data"]["properties"]["source"]["enum"]) == set(mnist.SOURCES)
    feedforward = model["allOf"][0]["then"]["properties"]
    assert set(feedforward["train"]["properties"]["recipe"]["enum"]) == set(training.RECIPES)
    assert props["stimuli"]["additionalProperties"]["properties"]["kind"]["enum"] == STIMULUS_KINDS.names()
    assert props["rdms"]["additionalProperties"]["properties"]["method"]["$ref"] == "#/$defs/rdm_method"
    assert all(f"{k} = " in SCHEMA["$defs"]["rdm_method"]["description"] for k in RDM_METHODS)
    assert [s for s in ANALYSES] == ["montages", "paths", "path_comparisons", "reference_fits",
                                  "dimreduction", "fgsm_sweeps", "profiles"]
    path = props["paths"]["additionalProperties"]["properties"]
    assert path["compare"]["enum"] == COMPARISONS.names() and path["distance"]["enum"] == DISTANCES.names()
    assert path["rdm_method"]["$ref"] == "#/$defs/rdm_method"
    assert props["dimreduction"]["additionalProperties"]["properties"]["methods"]["items"]["enum"] == \
        REDUCTIONS.names()
    assert props["references"]["additionalProperties"]["properties"]["format"]["enum"][:-1] == \
        REFERENCE_FORMATS.names()


def test_a_kind_added_to_a_registry_is_accepted_by_validation():
    from repgeom.models import MODEL_KINDS, ModelKind
    from repgeom.rdm import RDM_METHODS, DirectMethod
    from repgeom.stimuli import STIMULUS_KINDS, StimulusKind

    class Tiny(ModelKind):
        description = "a test kind"
        properties = {"width": {"type": "integer", "minimum": 1}}
        required = ("width",)

    class Noise(StimulusKind):
        description = "random pixels"
        properties = {"n": {"type": "integer"}}

        def size(self, spec, sets):
            return spec["n"]

    cfg = copy.deepcopy(DEFAULT)
    cfg["models"]["tiny"] = {"kind": "tiny", "width": 3}
    cfg["stimuli"]["noise"] = {"kind": "noise", "n": 12}
    cfg["rdms"]["new_method"] = {"models": ["standard"], "stimuli": ["clean_20"], "method": "manhattan_test"}
    with pytest.raises(cfgmod.ConfigError) as err:  # before registration: each one refused by name
        cfgmod.validate(cfg, SCHEMA)
    assert all(s in str(err.value) for s in ("'tiny' is not allowed", "'noise' is not allowed",
                                             "config.rdms.new_method.method: unknown RDM method 'manhattan_test'"))
    MODEL_KINDS.register("tiny", Tiny())
    STIMULUS_KINDS.register("noise", Noise())
    RDM_METHODS.register("manhattan_test", DirectMethod(lambda X: np.abs(X[:, None] - X[None]).sum(-1)))
    try:
        schema = cfgmod.load_schema(os.path.join(REPO, "workflow/schemas/config.schema.yaml"))
        valid = cfgmod.validate(cfg, schema)
        assert valid["models"]["tiny"]["width"] == 3 and valid["stimuli"]["noise"]["n"] == 12
        bad = copy.deepcopy(cfg)
        bad["models"]["tiny"]["depth"] = 2  # the kind's own keys only
        with pytest.raises(cfgmod.ConfigError, match="config.models.tiny.*'depth'"):
            cfgmod.validate(bad, schema)
    finally:
        MODEL_KINDS.unregister("tiny")
        STIMULUS_KINDS.unregister("noise")
        RDM_METHODS.unregister("manhattan_test")


def test_reserved_and_duplicate_names_are_refused():
    msg = _bad(lambda c: c["models"].update(labels=dict(c["models"]["new_seed"])))
    assert "config.models" in msg and "'labels'" in msg
    msg = _bad(lambda c: c["paths"]["exercise2_new_seed"].update(models=["standard", "standard"]))
    assert "config.paths.exercise2_new_seed.entries: listed twice" in msg
    msg = _bad(lambda c: _entries(c, "recurrent", ["recurrent", {"reference": "hIT"}]))
    assert "config.paths.recurrent.entries: unknown reference 'hIT'" in msg


def _entries(cfg, path, entries):
    cfg["paths"][path].pop("models")
    cfg["paths"][path]["entries"] = entries


def test_unknown_nodes_of_a_tutorial_network_are_refused_before_any_job():
    msg = _bad(lambda c: c["paths"]["recurrent"].update(nodes=["conv2_9"]))
    assert "config.paths.recurrent.nodes" in msg and "conv2_9" in msg and "'conv2_4'" in msg
    msg = _bad(lambda c: _entries(c, "recurrent", [{"model": "recurrent", "nodes": ["fc1"]}, "labels"]))
    assert "config.paths.recurrent.nodes" in msg and "'fc1'" in msg


def test_dimreduction_method_listed_twice():
    msg = _bad(lambda c: c["dimreduction"]["section1"].update(methods=["MDS", "PCA", "MDS"]))
    assert "config.dimreduction.section1.methods" in msg and "non-unique" in msg


def test_one_name_checker_accepts_a_sweep_member_as_a_set_and_refuses_a_model_named_as_one():
    """The defect the checker fixed, both ways: ``sweep_standard-eps0.1`` is a set (one eps of a sweep); the
    model ``standard`` given as a set is refused, naming the key and what the name is."""
    from repgeom.plan import Plan

    cfg = copy.deepcopy(DEFAULT)
    cfg["rdms"]["one_eps"] = {"models": ["standard"], "stimuli": ["sweep_standard-eps0.1"], "method": "euclidean"}
    plan = Plan(cfgmod.validate(cfg, SCHEMA))
    assert "results/rdms/euclidean/standard/sweep_standard-eps0.1.zarr" in plan.targets()
    msg = _bad(lambda c: c["rdms"]["section1_rdms"].update(stimuli=["standard"]))
    assert ("config.rdms.section1_rdms.stimuli: unknown stimulus set 'standard' (that is a model)" in msg
            and "sweep_standard-eps0.1" in msg)
    msg = _bad(lambda c: c["rdms"]["section1_rdms"].update(models=["clean_20"]))
    assert "config.rdms.section1_rdms.models: unknown model 'clean_20'" in msg


@pytest.mark.parametrize("mutate,message", [
    (lambda c: c["paths"]["recurrent"].update(stimuli="sweep_standard"),
     "config.paths.recurrent.stimuli: 'sweep_standard' is an eps sweep; name one of ['sweep_standard-eps0.05'"),
    (lambda c: c["paths"]["recurrent"].update(stimuli="sweep_standard-eps0.4"),
     "config.paths.recurrent.stimuli: unknown stimulus set 'sweep_standard-eps0.4'"),
    (lambda c: c["dimreduction"]["section1"].update(model="new_seed"),
     "config.dimreduction.section1.model: 'new_seed' is a family of seeds; name one of ['new_seed-seed2'"),
    (lambda c: c["montages"]["section1_5_per_class"].update(stimuli="recurrent"),
     "config.montages.section1_5_per_class.stimuli: unknown stimulus set 'recurrent' (that is a model)"),
    (lambda c: c["fgsm_sweeps"]["own_and_transfer"].update(stimuli=["clean_50"]),
     "config.fgsm_sweeps.own_and_transfer.stimuli: 'clean_50' is not an attack with a list of eps"),
    (lambda c: c["fgsm_sweeps"]["own_and_transfer"].update(models=["standard", "nosuch"]),
     "config.fgsm_sweeps.own_and_transfer.models: unknown model 'nosuch'"),
    (lambda c: c["profiles"]["metric_dependence"].update(paths=["section1_first_1000", "nosuch"]),
     "config.profiles.metric_dependence.paths: unknown paths analysis 'nosuch'"),
    (lambda c: c["path_comparisons"]["sample_size_5_vs_1000"].update(other="nosuch"),
     "config.path_comparisons.sample_size_5_vs_1000.other: unknown paths analysis 'nosuch'"),
    (lambda c: c["stimuli"]["fgsm_standard_20"].update(model="new_seed"),
     "config.stimuli.fgsm_standard_20.model: 'new_seed' is a family of seeds"),
    (lambda c: c["paths"]["recurrent"].update(entries=[{"model": "recurrent", "stimuli": "nosuch"}, "labels"],
                                              models=None) or c["paths"]["recurrent"].pop("models"),
     "unknown stimulus set 'nosuch'"),
])
def test_every_cross_reference_goes_through_the_name_checker(mutate, message):
    assert message in _bad(mutate)


def test_a_reference_fit_names_what_it_cannot_find():
    """Unknown reference and set, a family where one model is needed, a comparison without a ceiling."""
    def fit(**spec):
        return lambda cfg: cfg.setdefault("reference_fits", {}).update(
            {"f": {"stimuli": "clean_50", "models": ["standard"], "reference": "nope", **spec}})

    message = _bad(fit())
    assert "config.reference_fits.f.reference" in message and "nope" in message
    message = _bad(fit(models=["new_seed"], stimuli="nowhere"))
    assert "config.reference_fits.f.models" in message and "family" in message
    assert "config.reference_fits.f.stimuli" in message
    assert "spearman" in _bad(fit(compare="spearman"))

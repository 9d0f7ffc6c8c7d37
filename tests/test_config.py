import copy
import os

import pytest
import yaml

from conftest import REPO
from repgeom import config as cfgmod
from repgeom import mnist, networks, training

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
    assert cfg["download"] == {"timeout": 15, "on_unreachable": "train"}
    assert cfg["models"]["standard"]["train"]["batch_size"] == 64
    assert set(cfg["models"]) == {"standard", "adversarial", "recurrent", "new_seed"}
    assert "batch_size" not in DEFAULT["models"]["standard"]["train"], "input must not be mutated"


def test_unknown_architecture_names_key_and_choices():
    msg = _bad(lambda c: c["models"]["standard"].update(arch="resnet"))
    assert "config.models.standard.arch" in msg and "'resnet'" in msg and "feedforward" in msg and "recurrent" in msg


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
        c["models"]["standard"]["arch"] = "resnet"
        c["data"]["source"] = "kaggle"
    msg = _bad(two)
    assert "config.models.standard.arch" in msg and "config.data.source" in msg


def test_schema_enums_come_from_the_code_registries():
    props = SCHEMA["properties"]
    model = props["models"]["additionalProperties"]["properties"]
    assert set(model["arch"]["enum"]) == set(networks.ARCHITECTURES)
    assert set(props["data"]["properties"]["source"]["enum"]) == set(mnist.SOURCES)
    assert set(model["train"]["properties"]["recipe"]["enum"]) == set(training.RECIPES)


def test_dimreduction_method_listed_twice():
    msg = _bad(lambda c: c["dimreduction"]["section1"].update(methods=["MDS", "PCA", "MDS"]))
    assert "config.dimreduction.section1.methods" in msg and "non-unique" in msg

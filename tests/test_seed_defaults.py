"""The default config is the seed's analysis: a drift in distance, MDS settings or sample sizes is caught here.

The seed's code is ``benchmarks/tutorial_way.py`` (its helpers verbatim; only plt.show -> savefig)."""

import inspect
import os
import re
import sys

import yaml

from conftest import REPO
from repgeom import config as cfgmod
from repgeom import paths

sys.path.insert(0, os.path.join(REPO, "benchmarks"))
import tutorial_way as seed  # noqa: E402

SCHEMA = cfgmod.load_schema(os.path.join(REPO, "workflow/schemas/config.schema.yaml"))
with open(os.path.join(REPO, "config.yaml")) as f:
    DEFAULT = cfgmod.validate(yaml.safe_load(f), SCHEMA)


def test_paths_compare_rdms_as_the_seeds_rep_path():
    source = inspect.getsource(seed.rep_path)
    signature = inspect.signature(seed.rep_path)
    assert signature.parameters["rdm_calc_method"].default == "euclidean"
    assert signature.parameters["rdm_comp_method"].default == "cosine"
    assert "rdms_comp = 1 - rdms_comp" in source  # the seed's distance: 1 - cosine
    mds = re.search(r"mds\((.*?)\)", source, re.S).group(1)
    assert "max_iter=1000" in mds and "n_init=10" in mds and "n_components=2" in mds
    defaults = inspect.signature(paths.embed_mds).parameters
    assert defaults["max_iter"].default == 1000 and defaults["n_init"].default == 10
    tutorial_paths = {k: v for k, v in DEFAULT["paths"].items() if k != "section1_correlation"}
    for name, spec in tutorial_paths.items():
        assert (spec["rdm_method"], spec["compare"], spec["distance"]) == ("euclidean", "cosine", "one_minus"), name
    # the one path under another measure says so in its config
    assert DEFAULT["paths"]["section1_correlation"]["rdm_method"] == "correlation"


def test_sample_sizes_are_the_seeds():
    source = inspect.getsource(seed.cells)
    stimuli = DEFAULT["stimuli"]
    # Section 1's path: next(iter(test_loader)), the test batch of 1000 (the seed's --test-batch-size)
    assert "imgs, labels = next(iter(test_loader))" in source
    assert "batch_size=1000" in inspect.getsource(seed.test_loader_from)
    section1 = stimuli[DEFAULT["paths"]["section1_first_1000"]["stimuli"]]
    assert section1 == {"kind": "first", "n": 1000}
    # sample_images(test_loader, n=5 / 20 / 50): per class, from the first test batch
    assert {int(n) for n in re.findall(r"sample_images\(test_loader, n=(\d+)", source)} == {5, 20, 50}
    assert stimuli[DEFAULT["paths"]["section1_5_per_class"]["stimuli"]] == {"kind": "per_class", "n": 5, "pool": 1000,
                                                                          "seed": None}
    for name in ("standard_vs_robust_clean", "exercise2_new_seed", "recurrent", "feedforward_vs_recurrent"):
        assert stimuli[DEFAULT["paths"][name]["stimuli"]]["n"] == 50, name
    assert stimuli["clean_20"]["n"] == 20 and DEFAULT["rdms"]["section1_rdms"]["stimuli"] == ["clean_20"]
    assert "eps = 0.2" in source and stimuli["fgsm_standard_20"]["eps"] == 0.2
    assert DEFAULT["montages"]["section1_5_per_class"]["stimuli"] == "clean_5"

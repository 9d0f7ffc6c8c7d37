"""Beyond the tutorial, through the real snakemake CLI: torchvision networks on real object photographs with
human and monkey IT RDMs as path entries, and a user's own nn.Module served over HTTP."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import xarray as xr
import yaml

from conftest import REPO, md5_of, module_folder, run_snakemake

pytestmark = pytest.mark.slow

EXAMPLE = os.path.join(REPO, "examples", "92images")


@pytest.fixture(scope="module")
def objects_run(request, tmp_path_factory):
    """The example's own commands (its header), run as written from a copy of the repository root, where
    config.yaml (the default config) is present and the example's ``standalone: true`` keeps it out."""
    with module_folder(request, tmp_path_factory, "objects92") as folder:
        yield _objects_run(folder)


def example_commands(config_path):
    """The shell commands an example's config header tells a user to type (``#   python ...``, ``#   snakemake
    ...``), in order."""
    out = []
    for line in open(config_path).read().splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").split("  #")[0].strip()
        if text.startswith(("python ", "snakemake ")):
            out.append(text)
    return out


def _objects_run(folder):
    import shlex

    shutil.copytree(REPO, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        ".venv", ".git", "results", "resources", ".snakemake", "__pycache__", "tests", "benchmarks", "notebooks"))
    commands = example_commands(os.path.join(EXAMPLE, "config.yaml"))
    assert [c.split()[0] for c in commands] == ["python", "snakemake"], commands
    assert (folder / "config.yaml").exists()  # the default config is there, as in a clone
    for command in commands:
        argv = shlex.split(command)
        if argv[0] == "python":
            subprocess.run([sys.executable, *argv[1:]], check=True, cwd=folder)
        else:
            assert argv[1:3] == ["--cores", "2"], command
            run_snakemake(folder, *argv[1:], snakefile=folder / "Snakefile", cwd=folder)
    return folder


def _mat(name):
    import scipy.io

    return scipy.io.loadmat(os.path.join(EXAMPLE, "data", name), squeeze_me=True, struct_as_record=False)


def test_the_examples_documented_dry_run_plans_before_any_job(tmp_path):
    """From a copy of the repository root after the prepare script, the example's command as a dry run:
    torchvision models, whose nodes only their (not yet run) model job knows, are planned, and the default
    config.yaml beside it is not merged in (the example is standalone)."""
    import shlex

    shutil.copytree(REPO, tmp_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        ".venv", ".git", "results", "resources", ".snakemake", "__pycache__", "tests", "benchmarks", "notebooks"))
    prepare, command = example_commands(os.path.join(EXAMPLE, "config.yaml"))
    subprocess.run([sys.executable, *shlex.split(prepare)[1:]], check=True, cwd=tmp_path)
    proc = run_snakemake(tmp_path, *shlex.split(command)[1:], "-n", "--quiet", "rules", snakefile=tmp_path / "Snakefile",
                         cwd=tmp_path)
    counts = {line.split()[0]: int(line.split()[1]) for line in (proc.stdout + proc.stderr).splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert counts["prepare_model"] == 2 and "fetch_checkpoint" not in counts, counts


def test_the_92_images_are_an_image_folder_set(objects_run):
    stim = xr.open_zarr(objects_run / "results/92images/stimuli/objects92.zarr")
    assert stim.images.shape == (92, 3, 175, 175) and float(stim.images.max()) <= 1.0
    assert stim.attrs["classes"] == ["artificial_inanimate", "human_bodypart", "human_face", "natural_inanimate",
                                     "nonhuman_bodypart", "nonhuman_face"]
    mat = _mat("Kriegeskorte_Neuron2008_supplementalData.mat")["stimuli_92objs"]
    first = str(stim.stim.values[0])  # "<category>/<NN>.png": NN is the position in the .mat
    k = int(first.split("/")[1][:2]) - 1
    assert first.startswith(str(mat[k].category).replace(" ", "_"))
    assert np.array_equal(np.round(stim.images.values[0] * 255).astype(np.uint8), mat[k].image.transpose(2, 0, 1))


def test_torchvision_layers_cubes_and_their_manifests(objects_run):
    res = objects_run / "results/92images"
    record = json.loads((res / "checkpoints/alexnet.json").read_text())
    assert record["kind"] == "torchvision" and record["source"] == "initialised" and record["init_seed"] == 0
    assert record["manifest"]["layers"] == ["input", "features.0", "features.3", "features.6", "features.8",
                                            "features.10", "classifier.1", "classifier.4", "classifier.6"]
    assert record["manifest"]["shapes"]["features.0"] == [64, 55, 55]
    assert record["preprocess"]["size"] == [224, 224] and record["preprocess"]["mean"] == [0.485, 0.456, 0.406]
    cube = xr.open_zarr(res / "rdms/correlation/alexnet/objects92.zarr")
    assert list(cube.layer.values) == record["manifest"]["layers"] and cube.rdm.shape == (9, 92, 92)
    resnet = xr.open_zarr(res / "rdms/correlation/resnet18/objects92.zarr")
    assert resnet.layer.values[-1] == "fc" and resnet.sizes["layer"] == 22
    # the input node is what the network sees: the stored pixels through its own resize, crop and normalisation
    from repgeom import preprocess, rdm
    from repgeom.cubes import Cube

    pixels = torch.from_numpy(xr.open_zarr(res / "stimuli/objects92.zarr").images.values)
    seen = preprocess.build(record["preprocess"])(pixels).numpy().reshape(92, -1)
    got = Cube(str(res / "rdms/correlation/alexnet/objects92.zarr")).matrix("input")
    assert np.nanmax(np.abs(got - rdm.compute(seen.astype(np.float64), "correlation"))) < 1e-5
    assert (res / "figures/rdms/objects/alexnet/objects92.png").stat().st_size > 20_000


def test_brain_rdms_are_path_entries_aligned_by_id(objects_run):
    from rsatoolbox.rdm import RDMs, compare

    res = objects_run / "results/92images"
    hit = xr.open_zarr(res / "references/hIT/objects92.zarr")
    assert list(hit.layer.values)[:2] == ["hIT | BE | Session: 1", "hIT | BE | Session: 2"]
    assert hit.layer.values[-1] == "mean" and hit.sizes["layer"] == 9 and hit.attrs["n_rdms"] == 8
    # independently: the .mat's RDMs reordered by the ids, then averaged
    order = (objects_run / "resources/92images/stimulus_order.txt").read_text().split()
    take = [order.index(str(i)) for i in hit.stim_i.values]
    raw = np.stack([r.RDM for r in _mat("92_brainRDMs.mat")["RDMs"].ravel()])[:, take][:, :, take]
    assert np.allclose(hit.rdm.sel(layer="mean").values, raw.mean(0), atol=1e-6)
    path = xr.open_zarr(res / "paths/networks_vs_it.zarr")
    assert list(path.attrs["entries"]) == ["alexnet", "resnet18", "labels", "hIT", "mIT"]
    assert list(path.entry_kind.values[-3:]) == ["labels", "reference", "reference"]
    assert not path.shown.values[9]  # ResNet's input repeats AlexNet's (same ImageNet preprocessing)
    mit = xr.open_zarr(res / "references/mIT/objects92.zarr").rdm.sel(layer="mean").values
    r = compare(RDMs(hit.rdm.sel(layer="mean").values[None].astype(float)), RDMs(mit[None].astype(float)),
                method="corr")[0, 0]
    assert np.isclose(path.distance.values[-2, -1], np.arccos(r), atol=1e-6)
    metrics = json.loads((res / "metrics/paths/networks_vs_it.json").read_text())
    for model in ("alexnet", "resnet18"):
        to = metrics["models"][model]["distance_to"]
        assert set(to) == {"labels", "hIT", "mIT"} and len(to["hIT"]) == len(metrics["models"][model]["layers"])
    assert np.isclose(metrics["models"]["hIT"]["distance_to"]["mIT"], np.arccos(r), atol=1e-6)
    import pandas as pd

    table = pd.read_csv(res / "metrics/summary.csv")
    assert len(table[(table.model == "alexnet") & (table.metric == "distance_to_hIT")]) == 9
    assert (res / "figures/paths/networks_vs_it.png").stat().st_size > 20_000


def _planned(folder):
    proc = run_snakemake(folder, "-n", "--quiet", "rules", "--configfile", "examples/92images/config.yaml",
                         snakefile=folder / "Snakefile", cwd=folder)
    counts = {}
    for line in (proc.stdout + proc.stderr).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def test_adding_a_reference_entry_reruns_that_path_only(objects_run, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(objects_run, folder, symlinks=True)
    assert _planned(folder) == {}
    example = folder / "examples/92images/config.yaml"
    cfg = yaml.safe_load(example.read_text())
    cfg["references"]["behaviour"] = {"path": "resources/92images/92_behavRDMs.mat",
                                      "stimulus_order": "resources/92images/stimulus_order.txt"}
    cfg["paths"]["networks_vs_it"]["entries"].append({"reference": "behaviour"})
    example.write_text(yaml.safe_dump(cfg))
    # the new reference's import, then that path, its figure and the summary table: no network job
    assert _planned(folder) == {"reference_rdm": 1, "analysis": 1, "analysis_figure": 1, "metrics_summary": 1,
                                "report": 1, "all": 1, "total": 6}


# ---- a user's own nn.Module, its state_dict served over HTTP ----------------------------------------------

USER_MODULE = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class TinyConvNet(nn.Module):
        """A lab's own network: one conv block and a linear readout."""

        def __init__(self, width=8, classes=10):
            super().__init__()
            self.block = nn.Sequential(nn.Conv2d(1, width, 5, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(4))
            self.readout = nn.Linear(16 * width, classes)

        def forward(self, image):
            return torch.softmax(self.readout(self.block(image).flatten(1)), dim=1)
''')


def test_a_user_module_goes_through_features_cubes_and_a_path(tmp_path, http_server):
    from repgeom import mnist, preprocess, rdm
    from repgeom.cubes import Cube
    from test_mnist import _write_idx

    lab = tmp_path / "mylab"
    lab.mkdir()
    (lab / "lab_nets.py").write_text(USER_MODULE)
    sys.path.insert(0, str(lab))
    try:
        from lab_nets import TinyConvNet
    finally:
        sys.path.remove(str(lab))
    torch.manual_seed(3)
    net = TinyConvNet(width=6).eval()
    state = tmp_path / "weights.pth"
    torch.save(net.state_dict(), state)
    body = state.read_bytes()
    url = http_server.serve("/tiny.pth", "ok", body)
    data = mnist.load_embedded(100, 0)
    small = mnist.Mnist(data.train_images[:300], data.train_labels[:300], data.test_images[:300],
                        data.test_labels[:300], source="embedded")
    _write_idx(tmp_path / "idx", small)
    pre = {"size": 28, "channels": 1, "mean": [0.5], "std": [0.25]}
    cfg = {"data": {"source": "idx", "idx_dir": str(tmp_path / "idx")},
           "models": {"tiny": {"kind": "module", "class": "lab_nets:TinyConvNet", "path": str(lab),
                               "kwargs": {"width": 6}, "checkpoint": {"url": url, "md5": md5_of(body)},
                               "preprocess": pre, "label_space": "mnist", "color": "tab:purple"}},
           "stimuli": {"digits": {"kind": "per_class", "n": 6, "pool": 300},
                       "attacked": {"kind": "fgsm", "base": "digits", "model": "tiny", "eps": 0.1}},
           "rdms": {"tiny_layers": {"models": ["tiny"], "stimuli": ["digits"], "method": "euclidean",
                                    "nodes": "layers"}},
           "paths": {"tiny_path": {"stimuli": "digits", "entries": ["tiny", "labels"], "nodes": "all"}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    # the dry run a user checks first plans it, before the model job has traced the network
    dry = run_snakemake(tmp_path, "-n", "--quiet", "rules")
    assert "prepare_model" in dry.stdout + dry.stderr
    run_snakemake(tmp_path, "--cores", "2")
    res = tmp_path / "results"
    record = json.loads((res / "checkpoints/tiny.json").read_text())
    assert record["source"] == "downloaded" and record["source_md5"] == md5_of(body)
    assert record["manifest"]["nodes"] == ["input", "block.0", "block.1", "block.2", "flatten", "readout",
                                           "softmax"]
    assert record["manifest"]["layers"] == ["input", "block.0", "readout"]
    # features -> cube: the stored RDM of the conv block is the RDM of the module's own activations
    stim = xr.open_zarr(res / "stimuli/digits.zarr")
    x = preprocess.build(record["preprocess"])(torch.from_numpy(stim.images.values))
    with torch.no_grad():
        conv = net.block[0](x).numpy().reshape(len(x), -1)
    cube = Cube(str(res / "rdms/euclidean/tiny/digits.zarr"))
    assert cube.layers == record["manifest"]["nodes"]  # the union of the RDM request (layers) and the path (all)
    ref = rdm.compute(conv.astype(np.float64), "euclidean")
    assert np.abs(cube.matrix("block.0") - ref).max() / ref.max() < 1e-5
    path = xr.open_zarr(res / "paths/tiny_path.zarr")
    assert list(path.layer.values) == record["manifest"]["nodes"] + ["labels"]
    # FGSM against the module, in pixel space through its own preprocessing, lowers its accuracy
    import pandas as pd

    acc = pd.read_csv(res / "accuracy.csv").set_index("stimulus_set")
    assert acc.loc["attacked", "correct"] <= acc.loc["digits", "correct"]
    adv = xr.open_zarr(res / "stimuli/attacked.zarr").images.values
    assert np.abs(adv - stim.images.values).max() <= 0.1 + 1e-6 and adv.min() >= 0


def _weights_config(folder, mirror):
    cfg = {"download": {"timeout": 3, "torchvision_mirror": mirror},
           "models": {"alexnet": {"kind": "torchvision", "builder": "alexnet", "weights": "DEFAULT"}},
           "stimuli": {"objects": {"kind": "image_folder", "path": str(folder / "imgs")}},
           "rdms": {"r": {"models": ["alexnet"], "stimuli": ["objects"], "nodes": ["fc"]}}}
    from PIL import Image

    (folder / "imgs" / "a").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "imgs" / "a" / "x.png")
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))


@pytest.mark.parametrize("case", ["unreachable", "tampered"])
def test_torchvision_weights_are_verified_and_an_unreachable_host_is_a_clear_error(tmp_path, http_server,
                                                                                    closed_port, case):
    if case == "unreachable":
        mirror = f"http://127.0.0.1:{closed_port}/models"
    else:  # the right file name, other bytes: the sha256 prefix in the name catches it
        http_server.serve("/models/alexnet-owt-7be5be79.pth", "ok", b"not the weights" * 100)
        mirror = http_server.url("/models")
    _weights_config(tmp_path, mirror)
    env_home = tmp_path / "torch-home"  # an empty torch hub cache
    os.environ["TORCH_HOME"] = str(env_home)
    try:
        proc = run_snakemake(tmp_path, "--cores", "1", check=False)
    finally:
        os.environ.pop("TORCH_HOME")
    assert proc.returncode != 0
    log = (tmp_path / "results/logs/fetch_checkpoint/alexnet.log").read_text()
    if case == "unreachable":
        assert "unreachable" in log and "alexnet-owt-7be5be79.pth" in log and "torch hub cache" in log
    else:
        assert "sha256 mismatch" in log
    assert "Traceback" not in log
    assert not (tmp_path / "results/checkpoints/alexnet.pt").exists()
    assert not (tmp_path / "resources/checkpoints/alexnet").exists()


def test_which_layer_is_closest_to_human_it_with_its_noise_ceiling_and_tests(objects_run):
    """The example's brain question end to end: each layer's mean comparison with the 8 hIT RDMs and the
    noise ceiling equal rsatoolbox's (eval_fixed's mean, boot_noise_ceiling) on the stored cubes; the best
    layer, its tests against every other layer (FDR) and against the lower ceiling, the figure, the rows."""
    from rsatoolbox.inference import boot_noise_ceiling
    from rsatoolbox.rdm import RDMs, compare

    res = objects_run / "results/92images"
    record = json.loads((res / "metrics/reference_fits/layers_vs_hIT.json").read_text())
    hit = xr.open_zarr(res / "references/hIT/objects92.zarr")
    subjects = hit.rdm.values[:8].astype(np.float64)
    assert record["subjects"] == [str(v) for v in hit.layer.values[:8]]
    who = [name.split("|")[1].strip() for name in record["subjects"]]  # the example's subject_of
    assert record["n_subjects"] == 4 and record["subject_of_rdm"] == [0, 0, 1, 1, 2, 2, 3, 3]
    lower, upper = boot_noise_ceiling(RDMs(subjects, rdm_descriptors={"subject": who}), method="corr",
                                      rdm_descriptor="subject")
    assert abs(record["ceiling"]["lower"]["value"] - lower) < 1e-6
    assert abs(record["ceiling"]["upper"]["value"] - upper) < 1e-6
    alexnet = xr.open_zarr(res / "rdms/correlation/alexnet/objects92.zarr")
    fits = compare(RDMs(alexnet.rdm.values.astype(np.float64)), RDMs(subjects), method="corr").mean(1)
    got = [record["fits"]["alexnet"][str(layer)]["fit"] for layer in alexnet.layer.values]
    np.testing.assert_allclose(got, fits, rtol=0, atol=1e-6)
    everything = [v["fit"] for per in record["fits"].values() for v in per.values()]
    assert record["best"]["fit"] == max(everything) and len(record["tests"]) == len(everything) - 1
    assert all(0 <= t["p_value"] <= t["p_fdr"] <= 1 for t in record["tests"])
    assert record["bootstrap"]["n"] == 1000 and "ci95" in record["best_vs_lower_ceiling"]
    assert record["bootstrap"]["resampled"] == "stimuli and subjects"
    best = record["fits"][record["best"]["model"]][record["best"]["layer"]]
    assert best["ci95"][0] < best["fit"] < best["ci95"][1] and best["se"] > 0 and 3 <= best["dof"] <= 94
    assert best["ci95"][1] - best["ci95"][0] > best["ci95_stimuli"][1] - best["ci95_stimuli"][0]
    assert (res / "figures/reference_fits/layers_vs_hIT.png").stat().st_size > 20_000
    import pandas as pd

    table = pd.read_csv(res / "metrics/summary.csv")
    assert len(table[(table.model == "resnet18") & (table.metric == "fit_to_hIT")]) == 22
    assert set(table[table.model == "hIT"].metric) >= {"noise_ceiling_lower", "noise_ceiling_upper"}

import collections
import os
import sys

import numpy as np
import pytest
import torch

from conftest import REPO
from repgeom import attacks, features, mnist, networks, nodes, preprocess, stimuli, training, weights
from repgeom.models import MNIST_PREPROCESS, MODEL_KINDS

sys.path.insert(0, os.path.join(REPO, "benchmarks"))
import tutorial_way as tutorial  # noqa: E402  (the tutorial's own helpers: the reference here)


@pytest.fixture(scope="module")
def data():
    return mnist.load_embedded(100, 0)


@pytest.fixture(scope="module")
def trained(data):
    model, _ = weights.train("feedforward", data.train_images[:1280], data.train_labels[:1280],
                              training.Recipe(epochs=1))
    return model.eval()


def _pixel_fgsm(model, images, labels, eps, **kw):
    """FGSM in pixel space through the tutorial kinds' preprocessing, as the workflow makes FGSM sets."""
    network = preprocess.network(model, preprocess.resolve(MNIST_PREPROCESS))
    return attacks.fgsm(network, torch.from_numpy(mnist.pixels(images)), torch.as_tensor(labels), eps, **kw)


@pytest.mark.parametrize("eps", [0.2, 0.05])
def test_batched_pixel_space_fgsm_equals_the_tutorials_per_image_fgsm(data, trained, eps):
    x = mnist.normalize(data.test_images[:200])
    y = torch.as_tensor(data.test_labels[:200])
    ref = tutorial.generate_adversarial(trained, x.clone(), y, eps)  # normalised, image by image
    got = _pixel_fgsm(trained, data.test_images[:200], data.test_labels[:200], eps, batch_size=64)
    assert got.shape == ref.shape and got.min() >= 0 and got.max() <= 1
    assert (got - (ref * mnist.STD + mnist.MEAN)).abs().max().item() <= 1e-6  # compared in pixels
    assert ((got - mnist.MEAN) / mnist.STD - ref).abs().max().item() <= 1e-6  # and as the networks see them
    assert not torch.equal(got, torch.from_numpy(mnist.pixels(data.test_images[:200])))
    # the normalised-space form training uses is the tutorial's to the last bit of rounding too
    normed = attacks.fgsm_normalised(trained, x, y, eps, mnist.MEAN, mnist.STD)
    assert (normed - ref).abs().max().item() <= 1e-6


def test_fgsm_on_recurrent_net_too(data):
    torch.manual_seed(0)
    model = networks.RecurrentNet().eval()
    x = mnist.normalize(data.test_images[:50])
    ref = tutorial.generate_adversarial(model, x.clone(), torch.as_tensor(data.test_labels[:50]), 0.1)
    got = _pixel_fgsm(model, data.test_images[:50], data.test_labels[:50], 0.1)
    assert (got - (ref * mnist.STD + mnist.MEAN)).abs().max() <= 1e-6


def test_fgsm_lowers_accuracy(data, trained):
    network = preprocess.network(trained, preprocess.resolve(MNIST_PREPROCESS))
    x = torch.from_numpy(mnist.pixels(data.test_images[:300]))
    y = torch.as_tensor(data.test_labels[:300])
    clean, _ = training.accuracy(network, x, y)
    adv, _ = training.accuracy(network, attacks.fgsm(network, x, y, 0.2), y)
    assert adv < clean


# ---- stimulus selection ----------------------------------------------------------------------------
def _tutorial_sample_images(imgs, targets, n):
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.as_tensor(imgs), torch.as_tensor(targets)), batch_size=1000)
    imgs, labels = tutorial.sample_images(loader, n=n)
    return imgs.numpy(), labels.numpy()


@pytest.mark.parametrize("n", [5, 20, 50])
def test_per_class_is_the_tutorials_sample_images(data, n):
    batch = data.test_images[:1000]  # the tutorial's first test batch
    ref_imgs, ref_labels = _tutorial_sample_images(batch, data.test_labels[:1000], n)
    idx = stimuli.per_class(data.test_labels, n, pool=1000)
    assert np.array_equal(data.test_images[idx], ref_imgs)
    assert np.array_equal(data.test_labels[idx], ref_labels)


def test_seeded_per_class_is_deterministic_and_grouped(data):
    a = stimuli.per_class(data.test_labels, 10, seed=3)
    assert np.array_equal(a, stimuli.per_class(data.test_labels, 10, seed=3))
    assert not np.array_equal(a, stimuli.per_class(data.test_labels, 10))
    assert np.array_equal(data.test_labels[a], np.repeat(np.arange(10), 10))
    assert len(set(a.tolist())) == 100


def test_too_many_per_class_is_a_clear_error(data):
    with pytest.raises(ValueError, match="class"):
        stimuli.per_class(data.test_labels, 150)


def test_first_n(data):
    assert np.array_equal(stimuli.first(data.test_labels, 500), np.arange(500))
    with pytest.raises(ValueError):
        stimuli.first(data.test_labels, 5000)


def test_eps_sweep_expands_to_one_set_per_eps():
    sets = stimuli.expand_sets({"c": {"kind": "first", "n": 10},
                                "adv": {"kind": "fgsm", "base": "c", "model": "m", "eps": [0.1, 0.25]}})
    assert sorted(sets) == ["adv-eps0.1", "adv-eps0.25", "c"]
    assert sets["adv-eps0.25"]["eps"] == 0.25 and sets["adv-eps0.25"]["sweep"] == "adv"


# ---- features ----------------------------------------------------------------------------------------
def test_node_selection_from_the_traced_manifest_equals_the_static_one(trained):
    kind = MODEL_KINDS["feedforward"]
    traced = networks.manifest(trained, torch.zeros(2, 1, 28, 28), kind.layers)
    static = nodes.static_manifest(kind.static_nodes({}))
    assert traced["nodes"] == static["nodes"] and traced["layers"] == static["layers"]
    assert traced["shapes"]["conv1"] == [32, 26, 26]
    assert nodes.resolve(traced, "layers") == ["input", "conv1", "conv2", "fc1", "fc2"]
    assert nodes.resolve(traced, "all") == nodes.FEEDFORWARD_NODES
    assert nodes.resolve(traced, ["fc2", "conv1"]) == ["conv1", "fc2"]
    with pytest.raises(ValueError, match="valid:.*'relu_1'"):
        nodes.resolve(traced, ["fc3"])
    rec = MODEL_KINDS["recurrent"]
    m = networks.manifest(networks.RecurrentNet(3), torch.zeros(2, 1, 28, 28), rec.layers)
    assert m["nodes"] == rec.static_nodes({"time_steps": 3})
    assert nodes.resolve(m, "layers")[:3] == ["input", "conv1", "conv2"]


def test_planned_node_names_match_fx_for_any_time_steps():
    for t in range(1, 7):
        assert networks.node_names(networks.RecurrentNet(t)) == nodes.recurrent_nodes(t)


def test_streamed_features_equal_one_pass_and_aliases_are_found(data, trained):
    x = mnist.normalize(data.test_images[:130])
    all_nodes = nodes.FEEDFORWARD_NODES
    feats = features.extract(trained, x, all_nodes, batch_size=50)
    from torchvision.models.feature_extraction import create_feature_extractor

    with torch.no_grad():
        ref = create_feature_extractor(trained, return_nodes=all_nodes)(x)
    for n in all_nodes:
        assert np.allclose(feats[n], ref[n].flatten(1).numpy(), atol=1e-6, rtol=1e-5), n
    _, stored, layout = next(features.iter_features(trained, x, all_nodes, batch_size=50))
    assert layout.aliases == {"dropout1": "max_pool2d", "flatten": "max_pool2d", "dropout2": "relu_2"}
    assert layout.derived == {"relu": ("conv1", "relu"), "relu_1": ("conv2", "relu"), "relu_2": ("fc1", "relu")}
    assert list(stored) == ["input", "conv1", "conv2", "max_pool2d", "fc1", "fc2", "softmax"]
    assert layout.shapes["conv1"] == [32, 26, 26]
    assert layout.source("dropout2") == ("fc1", "relu") and layout.source("flatten") == ("max_pool2d", None)


class _ReluUntil(torch.nn.Module):
    """A ReLU for the first ``calls`` forward passes, a leaky ReLU after them."""

    def __init__(self, calls):
        super().__init__()
        self.calls = calls

    def forward(self, h):
        self.calls -= 1
        return torch.relu(h) if self.calls >= 0 else torch.nn.functional.leaky_relu(h, 0.01)


def _conv_act(trained, calls):
    return torch.nn.Sequential(collections.OrderedDict(conv1=trained.conv1, act=_ReluUntil(calls)))


def test_a_derived_node_is_checked_on_every_batch(data, trained):
    x = mnist.normalize_array(data.test_images[:100])
    batches = features.iter_features(_conv_act(trained, 1), x, ["input", "conv1", "act"], 50, tracer="hooks")
    _, stored, layout = next(batches)
    assert layout.derived == {"act": ("conv1", "relu")} and list(stored) == ["input", "conv1"]
    with pytest.raises(RuntimeError, match=r"node act stopped being relu\(conv1\) in images from 50"):
        next(batches)
    # an elementwise function that is no op of NODE_OPS (a leaky ReLU from the start) is stored
    _, stored, layout = next(features.iter_features(_conv_act(trained, 0), x, ["input", "conv1", "act"], 50,
                                                    tracer="hooks"))
    assert layout.derived == {} and list(stored) == ["input", "conv1", "act"]


def test_a_relu6_that_looks_like_a_relu_on_the_first_batch_is_caught_on_the_next():
    """Traced (FX): a ReLU by construction is not re-checked, a ReLU6 is (it is no ReLU in the graph)."""
    net = torch.nn.Sequential(collections.OrderedDict(lin=torch.nn.Linear(8, 8), act=torch.nn.ReLU6(),
                                                      out=torch.nn.ReLU()))
    x = np.random.default_rng(0).standard_normal((100, 8)).astype(np.float32)
    x[50:] *= 100  # the second batch's pre-activations pass 6
    batches = features.iter_features(net, x, ["input", "lin", "act", "out"], 50)
    _, stored, layout = next(batches)
    assert layout.derived == {"act": ("lin", "relu")} and list(stored) == ["input", "lin"]
    assert layout.aliases == {"out": "act"}  # a ReLU of values >= 0: a copy
    with pytest.raises(RuntimeError, match=r"node act stopped being relu\(lin\) in images from 50"):
        next(batches)


def test_relus_the_traced_graph_computes_are_not_rechecked(monkeypatch):
    """A ReLU module's output is the ReLU of its input in the FX graph: later batches skip its recomputation;
    with forward hooks (no graph to read) every derived node is checked."""
    seen = []
    check = features._check_layout
    monkeypatch.setattr(features, "_check_layout",
                        lambda feats, layout, start, buffers, by_construction=(): seen.append(set(by_construction))
                        or check(feats, layout, start, buffers, by_construction))
    net = torch.nn.Sequential(collections.OrderedDict(lin=torch.nn.Linear(8, 8), act=torch.nn.ReLU(),
                                                      out=torch.nn.Linear(8, 3)))
    x = np.random.default_rng(0).standard_normal((20, 8)).astype(np.float32)
    for tracer, skipped in [("fx", {"act"}), ("hooks", set())]:
        seen.clear()
        batches = list(features.iter_features(net, x, ["lin", "act", "out"], 10, tracer=tracer))
        assert batches[0][2].derived == {"act": ("lin", "relu")}
        assert seen == [skipped]  # one later batch, checked for every derived node but these


def test_non_finite_activations_are_an_error_naming_the_node_and_huge_finite_ones_are_not():
    """A NaN or inf anywhere in a stored node stops the stream with the node and the images; finite values
    whose column sums overflow float32 (the fast check) pass the exact check."""
    lin = torch.nn.Linear(4, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(3, 4)), lin.bias.zero_()
    net = torch.nn.Sequential(collections.OrderedDict(lin=lin, out=torch.nn.Tanh()))
    x = np.ones((40, 4), dtype=np.float32)
    x[:, 0] = 3e38  # finite; 20 of them sum to inf in float32
    assert len(list(features.iter_features(net, x, ["lin", "out"], 20))) == 2
    x[27, 1] = np.nan  # times the zero weights too: all 3 units of image 27
    batches = features.iter_features(net, x, ["lin", "out"], 20)
    next(batches)
    with pytest.raises(ValueError, match=r"node 'lin': 3 non-finite activations \(NaN or inf\) in images 20\.\.39"):
        next(batches)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_features_match_cpu(data, trained):
    x = mnist.normalize(data.test_images[:64])
    cpu = features.extract(trained, x, ["conv2", "fc2"])
    gpu = features.extract(trained, x, ["conv2", "fc2"], device="cuda")
    for n in cpu:
        assert np.allclose(cpu[n], gpu[n], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("batch_size", [64, 130, 500])
def test_streamed_features_store_equals_features_in_memory(data, trained, tmp_path, batch_size):
    import zarr

    from repgeom import store

    x = mnist.normalize_array(data.test_images[:130])
    ids, labels = np.arange(130) + 7, data.test_labels[:130]
    batches = features.iter_features(trained, x, nodes.FEEDFORWARD_NODES, batch_size)
    stored, layout = store.write_features_store(str(tmp_path / "f.zarr"), batches, ids, labels, {"model": "m"},
                                                batch_size)
    ref = features.extract(trained, x, nodes.FEEDFORWARD_NODES, batch_size=batch_size)  # GEMM sums depend on batch size
    g = zarr.open_group(str(tmp_path / "f.zarr"), mode="r")
    assert sorted(g.array_keys()) == sorted(stored + ["stim", "label"])
    assert set(stored) | set(layout.aliases) | set(layout.derived) == set(nodes.FEEDFORWARD_NODES)
    assert len(stored) + len(layout.aliases) + len(layout.derived) == len(nodes.FEEDFORWARD_NODES)
    assert store.NodeLayout.from_attrs(dict(g.attrs)) == layout
    for node in nodes.FEEDFORWARD_NODES:  # every node reads back as the network computed it, stored or not
        assert np.array_equal(store.read_node(str(tmp_path / "f.zarr"), node), ref[node]), node
    assert np.array_equal(g["stim"][:], ids) and np.array_equal(g["label"][:], labels)


@pytest.mark.parametrize("where", ["compute", "write"])
def test_a_failing_features_stream_leaves_nothing(data, trained, tmp_path, where):
    from repgeom import store

    x = mnist.normalize_array(data.test_images[:200])

    def batches():
        for k, (start, feats, layout) in enumerate(features.iter_features(trained, x, ["conv1", "fc2"], 50)):
            if k == 2:
                if where == "compute":
                    raise RuntimeError("forward pass failed")
                feats = {n: v[:, :-1] for n, v in feats.items()}  # the writer thread fails on this one
            yield start, feats, layout

    with pytest.raises(Exception):
        store.write_features_store(str(tmp_path / "f.zarr"), batches(), np.arange(200), data.test_labels[:200], {},
                                   50)
    assert list(tmp_path.iterdir()) == []


def test_device_tensors_equal_host_features_and_aliases_share_one_tensor(data, trained):
    from repgeom import rdm

    x = mnist.normalize_array(data.test_images[:90])
    host = features.extract(trained, x, nodes.FEEDFORWARD_NODES, batch_size=90)
    dev = features.extract_tensors(trained, x, nodes.FEEDFORWARD_NODES, batch_size=90, device="cpu")
    for n in nodes.FEEDFORWARD_NODES:
        assert np.array_equal(dev[n].numpy(), host[n]), n
    assert dev["dropout1"] is dev["max_pool2d"] and dev["flatten"] is dev["max_pool2d"]
    assert dev["dropout2"] is dev["relu_2"]
    calls = []
    mats = rdm.node_rdms(dev, nodes.FEEDFORWARD_NODES, lambda X: calls.append(1) or rdm.compute(X))
    assert len(mats) == 13 and len(calls) == 10  # three aliased nodes computed once
    assert mats[nodes.FEEDFORWARD_NODES.index("flatten")] is mats[nodes.FEEDFORWARD_NODES.index("max_pool2d")]


def test_preprocessing_in_the_features_job_equals_the_tutorials_normalised_input(data, trained):
    # stored pixels + the model's own preprocessing == the tutorial's ToTensor + Normalize, bitwise
    pix = mnist.pixels(data.test_images[:64])
    pre = preprocess.build(preprocess.resolve(MNIST_PREPROCESS))
    got = features.extract(trained, pix, ["input", "fc2"], preprocess=pre)
    ref = features.extract(trained, mnist.normalize_array(data.test_images[:64]), ["input", "fc2"])
    for n in ("input", "fc2"):
        assert np.array_equal(got[n], ref[n]), n


def test_image_folder_sets_any_size_grey_or_colour(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, mode, size in (("cats", "RGB", (40, 30)), ("dogs", "L", (40, 30)), ("dogs", "RGB", (40, 30))):
        folder = tmp_path / "imgs" / cls
        folder.mkdir(parents=True, exist_ok=True)
        shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(folder / f"{len(list(folder.iterdir()))}.png")
    stim = stimuli.read_image_folder(str(tmp_path / "imgs"))
    assert stim.classes == ["cats", "dogs"] and stim.labels.tolist() == [0, 1, 1]
    assert list(stim.ids) == ["cats/0.png", "dogs/0.png", "dogs/1.png"]
    assert stim.images.shape == (3, 3, 30, 40) and stim.images.dtype == np.float32
    assert 0 <= stim.images.min() and stim.images.max() <= 1
    grey = stimuli.read_image_folder(str(tmp_path / "imgs"), channels=1, size=[16, 16])
    assert grey.images.shape == (3, 1, 16, 16)
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "imgs" / "cats" / "small.png")
    with pytest.raises(ValueError, match="differ in size.*size"):
        stimuli.read_image_folder(str(tmp_path / "imgs"))
    # a flat folder plus a labels CSV
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((8, 8), 9, np.uint8)).save(flat / name)
    (tmp_path / "labels.csv").write_text("file,label\nb.png,y\na.png,x\n")
    stim = stimuli.read_image_folder(str(flat), str(tmp_path / "labels.csv"))
    assert list(stim.ids) == ["a.png", "b.png"] and stim.classes == ["x", "y"] and stim.images.shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="no images"):  # a flat folder without its CSV has no class folders
        stimuli.read_image_folder(str(flat))

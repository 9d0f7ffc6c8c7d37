import os
import sys

import numpy as np
import pytest
import torch

from conftest import REPO
from repgeom import attacks, features, mnist, networks, nodes, stimuli, training

sys.path.insert(0, os.path.join(REPO, "benchmarks"))
import tutorial_way as tutorial  # noqa: E402  (the tutorial's own helpers: the reference here)


@pytest.fixture(scope="module")
def data():
    return mnist.load_embedded(100, 0)


@pytest.fixture(scope="module")
def trained(data):
    model, _ = training.train("feedforward", data.train_images[:1280], data.train_labels[:1280],
                              training.Recipe(epochs=1))
    return model.eval()


@pytest.mark.parametrize("eps", [0.2, 0.05])
def test_batched_fgsm_equals_the_tutorials_per_image_fgsm(data, trained, eps):
    x = mnist.normalize(data.test_images[:200])
    y = torch.as_tensor(data.test_labels[:200])
    ref = tutorial.generate_adversarial(trained, x.clone(), y, eps)
    got = attacks.fgsm(trained, x, y, eps, batch_size=64)
    assert got.shape == ref.shape
    assert (got - ref).abs().max().item() <= 1e-6
    assert not torch.equal(got, x)


def test_fgsm_on_recurrent_net_too(data):
    torch.manual_seed(0)
    model = networks.RecurrentNet().eval()
    x = mnist.normalize(data.test_images[:50])
    y = torch.as_tensor(data.test_labels[:50])
    ref = tutorial.generate_adversarial(model, x.clone(), y, 0.1)
    assert (attacks.fgsm(model, x, y, 0.1) - ref).abs().max() <= 1e-6


def test_fgsm_lowers_accuracy(data, trained):
    x = mnist.normalize(data.test_images[:300])
    y = torch.as_tensor(data.test_labels[:300])
    clean, _ = training.accuracy(trained, x, y)
    adv, _ = training.accuracy(trained, attacks.fgsm(trained, x, y, 0.2), y)
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
def test_node_selection(trained):
    assert features.select_nodes(trained, "layers") == ["input", "conv1", "conv2", "fc1", "fc2"]
    assert features.select_nodes(trained, "all") == nodes.FEEDFORWARD_NODES
    assert features.select_nodes(trained, ["fc2", "conv1"]) == ["conv1", "fc2"]
    with pytest.raises(ValueError, match="valid:.*'relu_1'"):
        features.select_nodes(trained, ["fc3"])
    rec = networks.RecurrentNet()
    assert features.select_nodes(rec, "layers")[:3] == ["input", "conv1", "conv2"]


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
    _, _, aliases, shapes = next(features.iter_features(trained, x, all_nodes, batch_size=50))
    assert aliases == {"dropout1": "max_pool2d", "flatten": "max_pool2d", "dropout2": "relu_2"}
    assert shapes["conv1"] == [32, 26, 26]


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
    stored, aliases = store.write_features_store(str(tmp_path / "f.zarr"), batches, ids, labels, {"model": "m"},
                                                 batch_size)
    ref = features.extract(trained, x, nodes.FEEDFORWARD_NODES, batch_size=batch_size)  # GEMM sums depend on batch size
    g = zarr.open_group(str(tmp_path / "f.zarr"), mode="r")
    assert set(stored) | set(aliases) == set(nodes.FEEDFORWARD_NODES) and not set(stored) & set(aliases)
    for node in nodes.FEEDFORWARD_NODES:
        assert np.array_equal(g[aliases.get(node, node)][:], ref[node]), node
    assert np.array_equal(g["stim"][:], ids) and np.array_equal(g["label"][:], labels)


@pytest.mark.parametrize("where", ["compute", "write"])
def test_a_failing_features_stream_leaves_nothing(data, trained, tmp_path, where):
    from repgeom import store

    x = mnist.normalize_array(data.test_images[:200])

    def batches():
        for k, (start, feats, aliases, shapes) in enumerate(
                features.iter_features(trained, x, ["conv1", "fc2"], 50)):
            if k == 2:
                if where == "compute":
                    raise RuntimeError("forward pass failed")
                feats = {n: v[:, :-1] for n, v in feats.items()}  # the writer thread fails on this one
            yield start, feats, aliases, shapes

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
    mats = rdm.node_rdms(dev, nodes.FEEDFORWARD_NODES, lambda X: calls.append(1) or rdm.compute_torch(X))
    assert len(mats) == 13 and len(calls) == 10  # three aliased nodes computed once
    assert mats[nodes.FEEDFORWARD_NODES.index("flatten")] is mats[nodes.FEEDFORWARD_NODES.index("max_pool2d")]

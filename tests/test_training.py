import torch

from repgeom import attacks, mnist, training, weights
from repgeom.models import MODEL_KINDS


def _small():
    d = mnist.load_embedded(100, 0)
    return d.train_images[:640], d.train_labels[:640]


def test_training_is_deterministic_given_the_seed():
    x, y = _small()
    r = training.Recipe(epochs=1, seed=5)
    a, ha = weights.train("feedforward", x, y, r)
    b, hb = weights.train("feedforward", x, y, r)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    assert [h["loss"] for h in ha] == [h["loss"] for h in hb]
    c, _ = weights.train("feedforward", x, y, training.Recipe(epochs=1, seed=6))
    assert not torch.equal(a.fc2.weight, c.fc2.weight)


def test_fgsm_recipe_trains_on_adversarial_batches():
    x, y = _small()
    lines = []
    model, hist = weights.train("recurrent", x, y, training.Recipe(recipe="fgsm", epochs=2), progress=lines.append)
    assert len(hist) == 2 and not model.training
    assert any("epoch 2/2 done" in line for line in lines)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_accuracy_counts():
    d = mnist.load_embedded(100, 0)
    torch.manual_seed(0)
    model = MODEL_KINDS["feedforward"].build({}).eval()
    correct, n = training.accuracy(model, mnist.normalize(d.test_images[:100]), d.test_labels[:100])
    assert n == 100 and 0 <= correct <= 100


def test_fgsm_rejects_bad_eps():
    import pytest
    m = MODEL_KINDS["feedforward"].build({}).eval()
    with pytest.raises(ValueError, match="eps"):
        attacks.fgsm(m, torch.zeros(1, 1, 28, 28), torch.zeros(1, dtype=torch.long), 1.5)


def test_training_goes_through_the_kinds_own_preprocessing():
    """The tutorial kinds' preprocessing gives the course's ToTensor + Normalize inputs bitwise; a configured
    preprocess: is what training sees (another normalisation, other weights)."""
    from repgeom import preprocess

    x, y = _small()
    spec = MODEL_KINDS["feedforward"].preprocess({})
    pre = preprocess.build(spec)
    assert torch.equal(pre(torch.from_numpy(mnist.pixels(x))), mnist.normalize(x))
    r = training.Recipe(epochs=1, seed=5)
    a, _ = weights.train("feedforward", x, y, r)
    b, _ = weights.train("feedforward", x, y, r, spec={"preprocess": {"mean": [0.5], "std": [0.5]}})
    assert not torch.equal(a.fc2.weight, b.fc2.weight)

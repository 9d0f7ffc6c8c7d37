"""Train the tutorial's networks on MNIST: the course recipes, deterministic given the seed.

Recipes: ``standard`` (Adadelta, StepLR, NLL of log softmax, batches in a
seeded random order) and ``fgsm`` (the same, but every batch is replaced by
FGSM images made against the current model in train mode).
"""

import logging
import time
from dataclasses import dataclass

from . import devices, preprocess
from .mnist import pixels

log = logging.getLogger(__name__)

RECIPES = ("standard", "fgsm")


@dataclass
class Recipe:
    """Training hyper-parameters (defaults: the course's Tutorial 1 recipe)."""

    recipe: str = "standard"
    epochs: int = 2
    batch_size: int = 64
    lr: float = 1.0
    gamma: float = 0.7
    seed: int = 1
    fgsm_eps: float = 0.2
    threads: int = 2
    log_interval: int = 20


def train(make_network, preprocess_spec, images, labels, recipe, progress=None, device="cpu"):
    """A network (``make_network()``: a fresh one, weights from torch's random state) trained on uint8 MNIST
    ``images`` / ``labels`` by ``recipe``, its inputs made by its own preprocessing (``preprocess_spec``: for the
    tutorial's kinds ToTensor + Normalize(0.1307, 0.3081), bitwise the course's).

    Returns (model on CPU, history).  FGSM batches (``recipe: fgsm``) are made in the preprocessed space:
    de-normalised, stepped, clamped to [0, 1] and normalised again, the tutorial's procedure.

    Batch order and initial weights depend only on the seed; on CUDA the
    arithmetic differs from the CPU's in the last bits, so weights agree only
    approximately across devices.
    """
    import torch  # ~2.5 s to import: only in the job that trains
    import torch.nn.functional as F

    from . import attacks  # imports torch

    if recipe.recipe not in RECIPES:
        raise ValueError(f"unknown training recipe {recipe.recipe!r}; valid: {list(RECIPES)}")
    torch.manual_seed(recipe.seed)
    devices.strict_float32(device)
    model = make_network().to(device)
    pre = preprocess.build(preprocess_spec).to(device)
    with torch.no_grad():
        x_all = pre(torch.from_numpy(pixels(images)).to(device))
    mean = pre.mean if pre.mean is not None else torch.zeros(1, 1, 1, device=device)
    std = pre.std if pre.std is not None else torch.ones(1, 1, 1, device=device)
    y_all = torch.as_tensor(labels, dtype=torch.long).to(device)
    order_rng = torch.Generator().manual_seed(recipe.seed)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=recipe.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=recipe.gamma)
    n = len(y_all)
    n_batches = (n + recipe.batch_size - 1) // recipe.batch_size
    history = []
    for epoch in range(1, recipe.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=order_rng)
        loss_sum, correct, seen = 0.0, 0, 0
        for b in range(n_batches):
            idx = order[b * recipe.batch_size:(b + 1) * recipe.batch_size].to(device)
            x, y = x_all[idx], y_all[idx]
            if recipe.recipe == "fgsm":
                x = attacks.fgsm_normalised(model, x, y, recipe.fgsm_eps, mean, std)
            optimizer.zero_grad()
            out = model(x)
            loss = F.nll_loss(torch.log(out), y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            seen += len(y)
            if progress and (b % recipe.log_interval == 0 or b == n_batches - 1):
                progress(f"epoch {epoch}/{recipe.epochs} [{seen}/{n}] loss {loss.item():.4f}")
        scheduler.step()
        row = {"epoch": epoch, "loss": loss_sum / seen, "train_accuracy": correct / seen,
               "seconds": time.perf_counter() - t0}
        history.append(row)
        if progress:
            progress(f"epoch {epoch}/{recipe.epochs} done: mean loss {row['loss']:.4f}, "
                     f"train accuracy {row['train_accuracy']:.4f} ({row['seconds']:.1f} s)")
    return model.cpu().eval(), history


def predict(model, images, batch_size=1000):
    """Predicted class of each image (as ``model`` takes it), model in eval mode."""
    import torch

    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([model(images[i:i + batch_size].to(device)).argmax(1).cpu()
                          for i in range(0, len(images), batch_size)])


def accuracy(model, images, labels):
    """(correct, n) of the model on images (pixels for a network with its preprocessing, else its input)."""
    import torch

    y = torch.as_tensor(labels, dtype=torch.long)
    pred = predict(model, images)
    return int((pred == y).sum()), int(len(y))


def heldout_metrics(network, images, labels, eps):
    """Accuracy of ``network`` (preprocessing included) on held-out pixels, clean and under FGSM made against
    itself at ``eps``: the metrics a model record carries for a label space with a held-out split."""
    import torch

    from . import attacks

    x = torch.from_numpy(images)
    y = torch.as_tensor(labels)
    correct, n = accuracy(network, x, y)
    adv = attacks.fgsm(network.eval(), x, y, eps)
    adv_correct, _ = accuracy(network, adv, y)
    return {"heldout_accuracy": correct / n, "heldout_correct": correct, "heldout_n": n, "fgsm_eps": eps,
            "heldout_fgsm_accuracy": adv_correct / n, "heldout_fgsm_correct": adv_correct}

"""FGSM adversarial images, batched but identical to the tutorial's per-image procedure.

The tutorial: gradient of NLL(log softmax) w.r.t. the *normalised* image,
de-normalise, add eps * sign(gradient), clamp to [0, 1], re-normalise.  A
summed loss gives each image exactly its own single-image gradient.
"""

import torch
import torch.nn.functional as F

from .mnist import MEAN, STD


def denormalize(x):
    """Normalised images back to [0, 1] pixel scale."""
    return x * STD + MEAN


def renormalize(x):
    """[0, 1] pixel-scale images to the tutorial's normalisation."""
    return (x - MEAN) / STD


def input_gradient(model, images, labels):
    """d NLL(log model(x)) / dx for each image, as if each were its own batch of one."""
    x = images.detach().clone().requires_grad_(True)
    loss = F.nll_loss(torch.log(model(x)), labels, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return grad


def fgsm(model, images, labels, eps, batch_size=500):
    """FGSM images (normalised) against ``model`` in whatever mode it is in."""
    if not 0 <= eps <= 1:
        raise ValueError(f"FGSM eps must be in [0, 1], got {eps}")
    from .networks import strict_float32

    strict_float32(images.device)
    out = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        y = labels[start:start + batch_size]
        grad = input_gradient(model, x, y)
        adv = torch.clamp(denormalize(x.detach()) + eps * grad.sign(), 0, 1)
        out.append(renormalize(adv))
    return torch.cat(out) if out else images.detach().clone()


ATTACKS = {"fgsm": fgsm}

"""FGSM adversarial images, batched but identical to the tutorial's per-image procedure.

The tutorial: gradient of NLL(log softmax) w.r.t. the *normalised* image,
de-normalise, add eps * sign(gradient), clamp to [0, 1], re-normalise.
Stimuli here live in pixel space ([0, 1]) and each network carries its own
preprocessing, so :func:`fgsm` takes the gradient w.r.t. the pixels through
that preprocessing.  For a normalisation (x - m) / s the pixel gradient is
the normalised one divided by s > 0: the same sign, so the same images (up
to the float rounding of de-/re-normalising, ~1e-7).  A summed loss gives
each image exactly its own single-image gradient.
"""

import torch
import torch.nn.functional as F

from .devices import strict_float32


def input_gradient(model, images, labels):
    """d NLL(log model(x)) / dx for each image, as if each were its own batch of one."""
    x = images.detach().clone().requires_grad_(True)
    loss = F.nll_loss(torch.log(model(x)), labels, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return grad


def step(pixels, grad, eps):
    """One FGSM step in pixel space: clamp(x + eps * sign(grad), 0, 1)."""
    return torch.clamp(pixels + eps * grad.sign(), 0, 1)


def _check_eps(eps):
    if not 0 <= eps <= 1:
        raise ValueError(f"FGSM eps must be in [0, 1], got {eps}")


def fgsm(network, pixels, labels, eps, batch_size=500):
    """FGSM images in pixel space against ``network`` (preprocessing included), in whatever mode it is in."""
    _check_eps(eps)

    strict_float32(pixels.device)
    out = []
    for start in range(0, len(pixels), batch_size):
        x = pixels[start:start + batch_size]
        grad = input_gradient(network, x, labels[start:start + batch_size])
        out.append(step(x.detach(), grad, eps))
    return torch.cat(out) if out else pixels.detach().clone()


def fgsm_normalised(model, images, labels, eps, mean, std):
    """The tutorial's FGSM on images already normalised by (mean, std), returned normalised (training's recipe)."""
    _check_eps(eps)
    grad = input_gradient(model, images, labels)
    return (step(images.detach() * std + mean, grad, eps) - mean) / std


ATTACKS = {"fgsm": fgsm}

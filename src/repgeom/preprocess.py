"""From stored pixels to what a network sees: resize, centre crop, channels, normalisation.

Stimulus stores hold images in [0, 1] as (stim, channel, y, x); each model
applies its own :class:`Preprocess` (declared by its kind, overridable in the
config's ``preprocess:``).  It is a differentiable ``nn.Module``, so FGSM
takes its gradient in pixel space through the model's own preprocessing.

For the tutorial's networks it is only ``(x - 0.1307) / 0.3081`` on float32
tensors: bitwise what torchvision's ``Normalize`` (and the tutorial) computes.
"""

from __future__ import annotations

from typing import Optional, Sequence

# What each key of a preprocess spec means (the schema of the config's ``preprocess:`` block).
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "size": {"description": "input height and width the network takes: an int (square) or [H, W]; "
                                "images of another size are resized and centre-cropped",
                 "oneOf": [{"type": "integer", "minimum": 1},
                           {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2,
                            "maxItems": 2}]},
        "resize": {"type": ["integer", "null"], "minimum": 1,
                   "description": "shorter side resized to this before the centre crop (default: no crop margin)"},
        "channels": {"type": "integer", "enum": [1, 3],
                     "description": "1 = grey (colour images converted by luminance), 3 = RGB (grey repeated)"},
        "mean": {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 3},
        "std": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 1, "maxItems": 3},
        "interpolation": {"type": "string", "enum": ["bilinear", "bicubic", "nearest"], "default": "bilinear"},
    },
}


def _pair(size):
    if size is None:
        return None
    return (int(size), int(size)) if isinstance(size, (int, float)) else (int(size[0]), int(size[1]))


def resolve(defaults: dict, override: Optional[dict] = None) -> dict:
    """A complete preprocess spec: the kind's defaults, then the config's ``preprocess:`` keys."""
    spec = {"size": None, "resize": None, "channels": None, "mean": None, "std": None,
            "interpolation": "bilinear", **(defaults or {}), **(override or {})}
    spec["size"] = list(_pair(spec["size"])) if spec["size"] is not None else None
    if (spec["mean"] is None) != (spec["std"] is None):
        raise ValueError("preprocess: give both mean and std, or neither")
    if spec["mean"] is not None and spec["channels"] and len(spec["mean"]) not in (1, spec["channels"]):
        raise ValueError(f"preprocess: {len(spec['mean'])} means for {spec['channels']} channels")
    return spec


def input_shape(spec: dict, default_hw: Sequence[int] = (224, 224)) -> tuple:
    """(channels, H, W) of the network's input under ``spec``."""
    hw = spec.get("size") or default_hw
    return (spec.get("channels") or 3, int(hw[0]), int(hw[1]))


def build(spec: dict):
    """The :class:`torch.nn.Module` applying ``spec`` to (B, C, H, W) float images in [0, 1]."""
    import torch
    import torch.nn as nn

    class Preprocess(nn.Module):
        """Channels, then resize + centre crop, then (x - mean) / std, as one differentiable module."""

        def __init__(self, spec):
            super().__init__()
            self.spec = dict(spec)
            self.size = _pair(spec.get("size"))
            self.resize = spec.get("resize")
            self.channels = spec.get("channels")
            self.interpolation = spec.get("interpolation") or "bilinear"
            if spec.get("mean") is not None:
                self.register_buffer("mean", torch.tensor(spec["mean"], dtype=torch.float32).view(-1, 1, 1))
                self.register_buffer("std", torch.tensor(spec["std"], dtype=torch.float32).view(-1, 1, 1))
            else:
                self.mean = self.std = None

        def forward(self, x):
            if self.channels and x.shape[1] != self.channels:
                if self.channels == 3 and x.shape[1] == 1:
                    x = x.expand(-1, 3, -1, -1)
                elif self.channels == 1 and x.shape[1] == 3:  # ITU-R 601-2 luma, as torchvision's rgb_to_grayscale
                    x = (0.2989 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
                else:
                    raise ValueError(f"cannot turn {x.shape[1]} channels into {self.channels}")
            if self.size is not None and tuple(x.shape[-2:]) != self.size:
                x = _resize_crop(x, self.size, self.resize, self.interpolation)
            if self.mean is not None:
                x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
            return x

    return Preprocess(spec)


def _resize_crop(x, size, resize, interpolation):
    """torchvision's ``Resize(resize)`` (shorter side, antialiased) then ``CenterCrop(size)``, on tensors."""
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    if resize:
        scale = resize / min(h, w)
        new = (max(size[0], round(h * scale)), max(size[1], round(w * scale)))
    else:
        new = size
    if (h, w) != tuple(new):
        x = F.interpolate(x, size=new, mode=interpolation, antialias=interpolation != "nearest",
                          align_corners=False if interpolation != "nearest" else None)
    top, left = (new[0] - size[0]) // 2, (new[1] - size[1]) // 2
    return x[..., top:top + size[0], left:left + size[1]]


def network(net, spec: dict):
    """``net`` with its preprocessing in front: pixels in [0, 1] -> the network's output."""
    import torch.nn as nn

    seq = nn.Sequential(build(spec), net)
    return seq.train(net.training)

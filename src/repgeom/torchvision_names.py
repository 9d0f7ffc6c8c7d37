"""The classification builders of ``torchvision.models`` and their weights names, for checking a config at
validation without importing torchvision (~5 s).  Generated from torchvision 0.29.1+cu130 (the pinned
version): ``python -m repgeom.torchvision_names`` prints the table of the installed torchvision, and a test fails
when the two differ, so an upgrade regenerates it rather than checking against stale names."""

from __future__ import annotations

import difflib

TORCHVISION_VERSION = "0.29.1+cu130"

BUILDERS = {'alexnet': ['IMAGENET1K_V1'],
 'convnext_base': ['IMAGENET1K_V1'],
 'convnext_large': ['IMAGENET1K_V1'],
 'convnext_small': ['IMAGENET1K_V1'],
 'convnext_tiny': ['IMAGENET1K_V1'],
 'densenet121': ['IMAGENET1K_V1'],
 'densenet161': ['IMAGENET1K_V1'],
 'densenet169': ['IMAGENET1K_V1'],
 'densenet201': ['IMAGENET1K_V1'],
 'efficientnet_b0': ['IMAGENET1K_V1'],
 'efficientnet_b1': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'efficientnet_b2': ['IMAGENET1K_V1'],
 'efficientnet_b3': ['IMAGENET1K_V1'],
 'efficientnet_b4': ['IMAGENET1K_V1'],
 'efficientnet_b5': ['IMAGENET1K_V1'],
 'efficientnet_b6': ['IMAGENET1K_V1'],
 'efficientnet_b7': ['IMAGENET1K_V1'],
 'efficientnet_v2_l': ['IMAGENET1K_V1'],
 'efficientnet_v2_m': ['IMAGENET1K_V1'],
 'efficientnet_v2_s': ['IMAGENET1K_V1'],
 'googlenet': ['IMAGENET1K_V1'],
 'inception_v3': ['IMAGENET1K_V1'],
 'maxvit_t': ['IMAGENET1K_V1'],
 'mnasnet0_5': ['IMAGENET1K_V1'],
 'mnasnet0_75': ['IMAGENET1K_V1'],
 'mnasnet1_0': ['IMAGENET1K_V1'],
 'mnasnet1_3': ['IMAGENET1K_V1'],
 'mobilenet_v2': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'mobilenet_v3_large': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'mobilenet_v3_small': ['IMAGENET1K_V1'],
 'regnet_x_16gf': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'regnet_x_1_6gf': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'regnet_x_32gf': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'regnet_x_3_2gf': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'regnet_x_400mf': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'regnet_x_800mf': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'regnet_x_8gf': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'regnet_y_128gf': ['IMAGENET1K_SWAG_E2E_V1', 'IMAGENET1K_SWAG_LINEAR_V1'],
 'regnet_y_16gf': ['IMAGENET1K_V1', 'IMAGENET1K_V2', 'IMAGENET1K_SWAG_E2E_V1', 'IMAGENET1K_SWAG_LINEAR_V1'],
 'regnet_y_1_6gf': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'regnet_y_32gf': ['IMAGENET1K_V1', 'IMAGENET1K_V2', 'IMAGENET1K_SWAG_E2E_V1', 'IMAGENET1K_SWAG_LINEAR_V1'],
 'regnet_y_3_2gf': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'regnet_y_400mf': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'regnet_y_800mf': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'regnet_y_8gf': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'resnet101': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'resnet152': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'resnet18': ['IMAGENET1K_V1'],
 'resnet34': ['IMAGENET1K_V1'],
 'resnet50': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'resnext101_32x8d': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'resnext101_64x4d': ['IMAGENET1K_V1'],
 'resnext50_32x4d': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'shufflenet_v2_x0_5': ['IMAGENET1K_V1'],
 'shufflenet_v2_x1_0': ['IMAGENET1K_V1'],
 'shufflenet_v2_x1_5': ['IMAGENET1K_V1'],
 'shufflenet_v2_x2_0': ['IMAGENET1K_V1'],
 'squeezenet1_0': ['IMAGENET1K_V1'],
 'squeezenet1_1': ['IMAGENET1K_V1'],
 'swin_b': ['IMAGENET1K_V1'],
 'swin_s': ['IMAGENET1K_V1'],
 'swin_t': ['IMAGENET1K_V1'],
 'swin_v2_b': ['IMAGENET1K_V1'],
 'swin_v2_s': ['IMAGENET1K_V1'],
 'swin_v2_t': ['IMAGENET1K_V1'],
 'vgg11': ['IMAGENET1K_V1'],
 'vgg11_bn': ['IMAGENET1K_V1'],
 'vgg13': ['IMAGENET1K_V1'],
 'vgg13_bn': ['IMAGENET1K_V1'],
 'vgg16': ['IMAGENET1K_V1', 'IMAGENET1K_FEATURES'],
 'vgg16_bn': ['IMAGENET1K_V1'],
 'vgg19': ['IMAGENET1K_V1'],
 'vgg19_bn': ['IMAGENET1K_V1'],
 'vit_b_16': ['IMAGENET1K_V1', 'IMAGENET1K_SWAG_E2E_V1', 'IMAGENET1K_SWAG_LINEAR_V1'],
 'vit_b_32': ['IMAGENET1K_V1'],
 'vit_h_14': ['IMAGENET1K_SWAG_E2E_V1', 'IMAGENET1K_SWAG_LINEAR_V1'],
 'vit_l_16': ['IMAGENET1K_V1', 'IMAGENET1K_SWAG_E2E_V1', 'IMAGENET1K_SWAG_LINEAR_V1'],
 'vit_l_32': ['IMAGENET1K_V1'],
 'wide_resnet101_2': ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
 'wide_resnet50_2': ['IMAGENET1K_V1', 'IMAGENET1K_V2']}


def generate() -> dict:
    """The table from the installed torchvision."""
    import torchvision.models as tvm

    return {n: [w.name for w in tvm.get_model_weights(n)] for n in tvm.list_models(module=tvm)}


def _did_you_mean(word: str, options, n: int) -> str:
    close = difflib.get_close_matches(word, list(options), n=n, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def builder_problem(builder: str, where: str):
    """A message naming the key, with the closest builder names, when ``builder`` is not one; else None."""
    if builder in BUILDERS:
        return None
    return (f"{where}: {builder!r} is not a torchvision.models classification builder"
            f"{_did_you_mean(builder, BUILDERS, 3)} "
            f"(torchvision {TORCHVISION_VERSION} has {len(BUILDERS)}: python -m repgeom.torchvision_names lists them)")


def weights_problem(builder: str, weights: str, where: str):
    """A message naming the key when ``weights`` is not DEFAULT or one of the builder's weights; else None."""
    valid = BUILDERS.get(builder)
    if valid is None or weights == "DEFAULT" or weights in valid:
        return None
    return (f"{where}: torchvision has no weights {weights!r} for {builder}{_did_you_mean(weights, valid, 2)} "
            f"(valid: {['DEFAULT'] + valid})")


if __name__ == "__main__":
    import pprint

    pprint.pprint(generate(), width=110, compact=True)

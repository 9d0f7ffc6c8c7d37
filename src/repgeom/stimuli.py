"""Stimulus sets: which held-out digits, in which order (and FGSM versions of them).

Selections return indices into the held-out ("test") split, so every set
carries the identity of its digits.  Set kinds form a registry that the
config schema's enum mirrors.
"""

import numpy as np


def per_class(labels, n, pool=1000, seed=None):
    """``n`` digits of each class from the first ``pool`` held-out digits, grouped by class.

    With ``seed=None`` this is exactly the tutorial's ``sample_images``: the
    first ``n`` of each class in test order within the first test batch
    (``pool``, 1000 in the tutorial).  A seed draws them at random instead.
    """
    labels = np.asarray(labels)
    pool = min(int(pool), len(labels)) if pool else len(labels)
    candidates = np.arange(pool)
    if seed is not None:
        candidates = np.random.default_rng(seed).permutation(candidates)
    chosen = []
    for digit in range(10):
        idx = candidates[labels[candidates] == digit]
        if len(idx) < n:
            raise ValueError(f"only {len(idx)} digits of class {digit} among the first {pool} held-out digits; "
                             f"cannot take {n} per class (lower n or raise pool)")
        chosen.append(np.sort(idx[:n]) if seed is None else idx[:n])
    return np.concatenate(chosen)


def first(labels, n):
    """The first ``n`` held-out digits in test order (the tutorial's ``next(iter(test_loader))``)."""
    if n > len(labels):
        raise ValueError(f"asked for the first {n} held-out digits, but there are only {len(labels)}")
    return np.arange(n)


def select(spec, labels):
    """Indices of a clean set described by its config entry."""
    kind = spec["kind"]
    if kind == "per_class":
        return per_class(labels, spec["n"], pool=spec.get("pool", 1000), seed=spec.get("seed"))
    if kind == "first":
        return first(labels, spec["n"])
    raise ValueError(f"not a clean stimulus-set kind: {kind!r}; valid: {sorted(CLEAN_KINDS)}")


CLEAN_KINDS = {"per_class": per_class, "first": first}
KINDS = sorted(CLEAN_KINDS) + ["fgsm"]


def expand_sets(stimuli):
    """Config stimulus entries -> concrete sets {set id: spec}; an FGSM entry with a list of eps becomes one set per eps."""
    out = {}
    for name, spec in stimuli.items():
        if spec["kind"] == "fgsm" and isinstance(spec["eps"], list):
            for eps in spec["eps"]:
                out[f"{name}-eps{eps:g}"] = {**spec, "eps": float(eps), "sweep": name}
        else:
            out[name] = dict(spec)
    return out

"""Numbers behind the tutorial's statements."""

import numpy as np


def separability(D, labels):
    """Category-separability index of an RDM: mean between-class / mean within-class dissimilarity.

    Off-diagonal entries only; NaN entries are ignored.  1 means no category
    structure; larger means same-class stimuli are relatively closer.
    """
    D = np.asarray(D, dtype=np.float64)
    labels = np.asarray(labels)
    same = labels[:, None] == labels[None, :]
    off = ~np.eye(len(labels), dtype=bool)
    within = np.nanmean(D[same & off])
    between = np.nanmean(D[~same])
    return float(between / within) if within > 0 else float("inf")

"""Accuracy of every model on every stimulus set of its label space.

A row is a function of the model's weights, the set's images and labels, and this code: each row is kept
with a key of those (``accuracy.rows.json`` next to the table), so when one set or one model changes the
job recomputes only the rows it touches and takes the others from the key file (the same numbers: the
computation is deterministic).
"""

import csv
import hashlib
import json
import os

from .. import metrics, training
from ..checkpoints import load_network
from ..devices import set_threads
from ..stimuli import read_stimuli
from ._shell import log, main


def _stimuli_digest(stim):
    """sha256 of a set's images and labels (once per set, whichever models it is paired with)."""
    digest = hashlib.sha256()
    for part in (stim.images, stim.labels.astype("int64")):
        digest.update(memoryview(part).cast("B"))
    return digest.hexdigest()


def _row_key(record, stimuli_digest, code):
    return hashlib.sha256(json.dumps({
        "weights": record.get("md5"),  # of the checkpoint file the job reads
        "record": {k: record.get(k) for k in ("model", "preprocess", "kind", "model_kind")},
        "stimuli": stimuli_digest, "code": code}, sort_keys=True, default=str).encode()).hexdigest()


def _read_kept(path):
    try:
        with open(path) as f:
            kept = json.load(f)
        return kept if isinstance(kept, dict) else {}
    except (OSError, ValueError):
        return {}


def run(a):
    import torch


    set_threads(a.threads)
    pairs = [tuple(p) for p in json.loads(a.pairs)]
    paths = {}
    for ck, rec in zip(a.checkpoints, a.records):
        with open(rec) as f:
            record = json.load(f)
        paths[record["model"]] = (ck, rec, record)
    networks = {}

    def network(name):  # loaded only if one of its rows must be computed
        if name not in networks:
            networks[name] = load_network(*paths[name][:2])[0]
        return networks[name]

    sets = {}
    for path in a.stimuli:
        stim = read_stimuli(path)
        sets[stim.attrs["stimulus_set"]] = stim
    kept_path = os.path.splitext(a.out)[0] + ".rows.json"
    kept, keys = _read_kept(kept_path), {}
    rows, computed = [], 0
    for s, stim in sets.items():  # set by set, as the table reads
        x = torch.from_numpy(stim.images)
        y = torch.from_numpy(stim.labels.astype("int64"))
        stimuli_digest = _stimuli_digest(stim)
        for name in paths:
            if (name, s) not in pairs:
                continue
            key = _row_key(paths[name][2], stimuli_digest, a.code)
            if key in kept:
                correct, n = kept[key]
            else:
                correct, n = training.accuracy(network(name), x, y)
                computed += 1
            keys[key] = [correct, n]
            lo, hi = metrics.wilson(correct, n)
            rows.append({"model": name, "stimulus_set": s, "kind": stim.attrs["stimulus_kind"],
                         "attacked_model": stim.attrs.get("attacked_model") or "", "eps": stim.attrs.get("eps", 0.0),
                         "correct": correct, "n": n, "accuracy": correct / n, "ci95_low": lo, "ci95_high": hi})
            log.info("%-12s on %-22s accuracy = %d / %d = %.4f", name, s, correct, n, correct / n)
    log.info("%d rows computed, %d unchanged (kept in %s)", computed, len(rows) - computed, kept_path)
    with open(kept_path + ".tmp", "w") as f:
        json.dump(keys, f)
    os.replace(kept_path + ".tmp", kept_path)
    tmp = a.out + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, a.out)


def add_arguments(p):
    p.add_argument("--checkpoints", nargs="+", required=True)
    p.add_argument("--records", nargs="+", required=True)
    p.add_argument("--stimuli", nargs="+", required=True)
    p.add_argument("--pairs", required=True, help="JSON list of [model, set] pairs")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--code", default="", help="the code version (a changed one recomputes every row)")
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

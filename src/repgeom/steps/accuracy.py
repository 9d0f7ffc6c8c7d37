"""Accuracy of every model on every stimulus set of its label space."""

import json
import os

from ._shell import load_network, log, main, set_threads


def run(a):
    import csv

    import torch

    from .. import metrics, store, training

    set_threads(a.threads)
    pairs = [tuple(p) for p in json.loads(a.pairs)]
    networks = {}
    for ck, rec in zip(a.checkpoints, a.records):
        network, _, record = load_network(ck, rec)
        networks[record["model"]] = network
    sets = {}
    for path in a.stimuli:
        stim = store.read_stimuli(path)
        sets[stim.attrs["stimulus_set"]] = stim
    rows = []
    for s, stim in sets.items():  # set by set, as the table reads
        x = torch.from_numpy(stim.images)
        y = torch.from_numpy(stim.labels.astype("int64"))
        for name, network in networks.items():
            if (name, s) not in pairs:
                continue
            correct, n = training.accuracy(network, x, y)
            lo, hi = metrics.wilson(correct, n)
            rows.append({"model": name, "stimulus_set": s, "kind": stim.attrs["stimulus_kind"],
                         "attacked_model": stim.attrs.get("attacked_model") or "", "eps": stim.attrs.get("eps", 0.0),
                         "correct": correct, "n": n, "accuracy": correct / n, "ci95_low": lo, "ci95_high": hi})
            log.info("%-12s on %-22s accuracy = %d / %d = %.4f", name, s, correct, n, correct / n)
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
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

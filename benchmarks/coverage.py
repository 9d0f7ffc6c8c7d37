"""Coverage of the intervals a path prints, on synthetic populations with known values.

    python benchmarks/coverage.py                      # N = 50 and 100, 400 experiments, 200 resamples
    python benchmarks/coverage.py --n 50 --experiments 200 --methods percentile,bca

A "network" of four layers sees stimuli from ten Gaussian classes (layer k + 1 = tanh(layer k @ A_k) +
noise); a second network differs in its noise.  The population value of every path number -- each step
distance, the path length, each layer's distance to the labels, the paired difference between the two
networks' last-layer distances to the labels -- is the same number computed over 2 million independent
stimulus pairs (the estimator is a function of pair means, so this is its limit).  Each experiment draws
N stimuli, computes the path (cosine similarity, 1 - s distance: the default config's) and B stimulus
resamples in one walk (:func:`repgeom.paths.compute`'s engine), and forms each interval kind; the table gives
how often each 95 % interval covers the population value, with the Monte Carlo error of that share.
"""

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

K, D = 10, 12


def _population(seed=3):
    """(stimulus(classes) -> inputs, network(inputs, noise) -> its four layers' activations)."""
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((K, D)) * 0.8
    weights = [rng.standard_normal((D, D)) / np.sqrt(D) for _ in range(3)]

    def stimulus(classes):
        return mu[classes] + rng.standard_normal((len(classes), D))

    def network(x, noise):
        layers = [x]
        for A in weights:
            layers.append(np.tanh(layers[-1] @ A * 1.5) + noise * rng.standard_normal((len(x), D)))
        return layers

    return stimulus, network


def _layers(stimulus, network, classes):
    """The eight layer activations of a path (net a: noise 0.3, net b: 0.6, same inputs)."""
    x = stimulus(classes)
    return network(x, 0.3) + network(x, 0.6)


NAMES = ["a"] * 4 + ["b"] * 4 + ["labels"]
LAYERS = [f"l{k}" for k in range(4)] * 2 + ["labels"]
KINDS = ["model"] * 8 + ["labels"]


def _path_numbers(sim):
    """The path numbers a path job prints (:func:`repgeom.metrics.path_metrics`, one-minus distance) from a
    similarity matrix over [net a: 4 layers, net b: 4, labels], by name."""
    from repgeom import metrics

    m = metrics.path_metrics(1.0 - sim, NAMES, LAYERS, KINDS)
    out = {}
    for net in "ab":
        for k, step in enumerate(m[net]["step_lengths"]):
            out[f"{net} step {k}->{k + 1}"] = step
        out[f"{net} path length"] = m[net]["path_length"]
        out[f"{net} last layer to labels"] = m[net]["last_layer_distance_to"]["labels"]
    out["a - b last layer to labels"] = out["a last layer to labels"] - out["b last layer to labels"]
    out["a layer 1 to labels"] = m["a"]["distance_to"]["labels"]["l1"]
    return out


def population_values(stimulus, network, pairs=2_000_000, chunk=250_000):
    """Every path number over ``pairs`` independent stimulus pairs (the estimator's limit)."""
    rng = np.random.default_rng(0)
    G = np.zeros((9, 9))
    for _ in range(pairs // chunk):
        c1, c2 = rng.integers(0, K, (2, chunk))
        vecs = [((x1 - x2) ** 2).mean(1) for x1, x2 in zip(_layers(stimulus, network, c1),
                                                          _layers(stimulus, network, c2))]
        vecs.append((c1 != c2) * 2.0 / K)  # the one-hot labels RDM (euclidean): 2/K between classes
        V = np.stack(vecs)
        G += V @ V.T
    norms = np.sqrt(np.diag(G))
    return _path_numbers(G / np.outer(norms, norms))


def one_experiment(stimulus, network, n, n_boot, rng, want_jackknife):
    from repgeom import compare, rdm

    classes = rng.integers(0, K, n)
    feats = _layers(stimulus, network, classes)
    mats = [rdm.compute(f, "euclidean") for f in feats] + [rdm.labels_rdm(classes, K, "euclidean")]
    point = _path_numbers(compare.similarity(mats, n, "cosine"))
    samples = rng.integers(0, n, size=(n_boot, n))
    boot = [_path_numbers(s) for s in compare.bootstrap_similarity(mats, n, "cosine", samples)]
    jack = None
    if want_jackknife:
        leave_one_out = np.array([np.delete(np.arange(n), i) for i in range(n)])
        jack = [_path_numbers(s) for s in compare.bootstrap_similarity(mats, n, "cosine", leave_one_out)]
    return point, boot, jack


def monte_carlo_error(stimulus, network, n, sizes, repeats, methods, seed=0):
    """For one experiment: how much each interval end moves between bootstraps of B resamples (new draws),
    as the sd of the end over ``repeats`` bootstraps, in units of the interval's half-width (the worst
    statistic and end)."""
    from repgeom import compare, intervals, rdm

    rng = np.random.default_rng(seed)
    classes = rng.integers(0, K, n)
    feats = _layers(stimulus, network, classes)
    mats = [rdm.compute(f, "euclidean") for f in feats] + [rdm.labels_rdm(classes, K, "euclidean")]
    point = _path_numbers(compare.similarity(mats, n, "cosine"))
    print(f"\nMonte Carlo error of the 95 % interval ends, N = {n}: sd over {repeats} bootstraps / half-width "
          f"(worst statistic and end)")
    print(f"{'resamples':>10s}" + "".join(f"{m:>12s}" for m in methods))
    for B in sizes:
        ends = {m: [] for m in methods}
        for _ in range(repeats):
            boot = [_path_numbers(s) for s in
                    compare.bootstrap_similarity(mats, n, "cosine", rng.integers(0, n, size=(B, n)))]
            for m in methods:
                if m == "bca":
                    continue
                ends[m].append([intervals.interval95(point[k], [r[k] for r in boot], m) for k in point])
        row = f"{B:>10d}"
        for m in methods:
            if not ends[m]:
                row += f"{'-':>12s}"
                continue
            e = np.array(ends[m])  # (repeats, statistics, 2)
            half = (e[..., 1] - e[..., 0]).mean(0) / 2
            row += f"{(e.std(0, ddof=1) / half[:, None]).max():>12.3f}"
        print(row)


def main(argv=None):
    from repgeom import intervals

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", default="50,100", help="stimuli per experiment (comma-separated)")
    ap.add_argument("--experiments", type=int, default=400)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--methods", default=",".join(intervals.METHODS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mc", default="", help="resample counts (e.g. 200,500,1000,2000): Monte Carlo error of "
                                            "the interval ends instead of coverage")
    ap.add_argument("--mc-repeats", type=int, default=40)
    a = ap.parse_args(argv)
    methods = a.methods.split(",")
    stimulus, network = _population()
    if a.mc:
        for n in (int(v) for v in a.n.split(",")):
            monte_carlo_error(stimulus, network, n, [int(v) for v in a.mc.split(",")], a.mc_repeats, methods)
        return
    truth = population_values(stimulus, network)
    print("population values (2,000,000 pairs): " + ", ".join(f"{k} {v:.4f}" for k, v in truth.items()))
    for n in (int(v) for v in a.n.split(",")):
        rng = np.random.default_rng(a.seed + n)
        covered = {(m, k): [] for m in methods for k in truth}
        widths = {(m, k): [] for m in methods for k in truth}
        estimates, boot_sd = {k: [] for k in truth}, {k: [] for k in truth}
        t0 = time.perf_counter()
        for _ in range(a.experiments):
            point, boot, jack = one_experiment(stimulus, network, n, a.n_boot, rng, "bca" in methods)
            for k in truth:
                reps = np.array([r[k] for r in boot])
                estimates[k].append(point[k])
                boot_sd[k].append(reps.std(ddof=1))
                jk = None if jack is None else np.array([r[k] for r in jack])
                for m in methods:
                    lo, hi = intervals.interval95(point[k], reps, m, jk)
                    covered[(m, k)].append(lo <= truth[k] <= hi)
                    widths[(m, k)].append(hi - lo)
        mc = np.sqrt(0.95 * 0.05 / a.experiments)
        print(f"\nN = {n}: {a.experiments} experiments x {a.n_boot} resamples "
              f"({time.perf_counter() - t0:.0f} s); coverage of the 95 % interval (Monte Carlo error {mc:.3f})")
        print("(width in brackets; bias: mean estimate - population value, in units of the estimate's sd across "
              "experiments; sd ratio: mean bootstrap sd / that sd)")
        print(f"{'statistic':32s}" + "".join(f"{m:>16s}" for m in methods) + f"{'bias/sd':>9s}{'sd ratio':>9s}")
        for k in truth:
            sd = np.std(estimates[k], ddof=1)
            print(f"{k:32s}" + "".join(f"{np.mean(covered[(m, k)]):>8.3f} ({np.mean(widths[(m, k)]):.3f})"
                                       for m in methods)
                  + f"{(np.mean(estimates[k]) - truth[k]) / sd:>+9.2f}{np.mean(boot_sd[k]) / sd:>9.2f}")


if __name__ == "__main__":
    main()

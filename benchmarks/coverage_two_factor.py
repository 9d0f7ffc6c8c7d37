"""Coverage of a reference fit's intervals for new subjects and new stimuli, on a simulated population.

    python benchmarks/coverage_two_factor.py                     # 6 subjects, 300 experiments
    python benchmarks/coverage_two_factor.py --subjects 4 --experiments 200 --subject-noise 0.5

A model "layer" and subjects see stimuli from six Gaussian classes; each subject's response is a random map
of the stimuli (a shared map plus ``--subject-noise`` of its own) plus measurement noise.  The population
value is the model's mean fit (corr of its RDM with a subject's) over 150 simulated subjects and 400,000
independent stimulus pairs.  Each experiment draws new subjects and 92 new stimuli and forms three 95 %
intervals of the fit: the two-factor t interval of :func:`repgeom.inference.reference_fit` (stimuli x
subjects, Schütt et al. 2023's correction) with Welch-Satterthwaite degrees of freedom (repgeom's default)
and with rsatoolbox's rule (its clip, min(subjects, stimuli) - 1 df), and the stimulus-only bias-corrected
interval (which treats the measured subjects as the population).  Prints the share that covers the
population value, with its Monte Carlo error.
"""

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))


class SubjectPopulation:
    """A model "layer" and a population of subjects over stimuli of six Gaussian classes: each subject a
    random map (a shared map plus ``subject_noise`` of its own) plus measurement noise.  The test suite uses
    it too (``tests/test_inference.py``)."""

    def __init__(self, seed: int = 31, subject_noise: float = 1.5, K: int = 6, d: int = 12):
        self.rng = rng = np.random.default_rng(seed)
        self.K, self.d, self.subject_noise = K, d, subject_noise
        self.mu = rng.standard_normal((K, d)) * 0.9
        self.B0 = rng.standard_normal((d, d)) / np.sqrt(d)
        self.C = self.B0 + 0.8 * rng.standard_normal((d, d)) / np.sqrt(d)

    def subject_map(self):
        return self.B0 + self.subject_noise * self.rng.standard_normal((self.d, self.d)) / np.sqrt(self.d)

    def layers(self, classes, maps):
        """The model's activations and each subject's responses to stimuli of ``classes``."""
        x = self.mu[classes] + self.rng.standard_normal((len(classes), self.d))
        return ([np.tanh(x @ self.C * 1.2) + 0.5 * self.rng.standard_normal(x.shape)]
                + [np.tanh(x @ B * 1.2) + 0.8 * self.rng.standard_normal(x.shape) for B in maps])

    def fit(self, n_subjects: int, pairs: int, batches: int = 4):
        """(population fit: the mean over ``n_subjects`` simulated subjects of the model's corr with each over
        ``batches`` x ``pairs`` independent stimulus pairs, each subject's fit)."""
        from repgeom import inference

        population = [self.subject_map() for _ in range(n_subjects)]
        P = n_subjects + 1
        G, sums, count = np.zeros((P, P)), np.zeros(P), 0
        for _ in range(batches):
            c1, c2 = self.rng.integers(0, self.K, (2, pairs))
            V = np.stack([((a - b) ** 2).mean(1) for a, b in zip(self.layers(c1, population),
                                                                  self.layers(c2, population))])
            G, sums, count = G + V @ V.T, sums + V.sum(1), count + V.shape[1]
        per = inference.subject_fits(G, sums, count, [0], range(1, P), "corr")[0]
        return per.mean(), per

    def experiment(self, n_subjects: int, n_stimuli: int = 92):
        """Euclidean RDMs of the model and of ``n_subjects`` new subjects on ``n_stimuli`` new stimuli."""
        from repgeom import rdm

        classes = self.rng.integers(0, self.K, n_stimuli)
        return [rdm.compute(f, "euclidean") for f in self.layers(classes, [self.subject_map()
                                                                           for _ in range(n_subjects)])]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subjects", type=int, default=6)
    ap.add_argument("--subject-noise", type=float, default=1.5)
    ap.add_argument("--experiments", type=int, default=300)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=31)
    args = ap.parse_args()
    from repgeom import inference, metrics

    S = args.subjects
    sim = SubjectPopulation(args.seed, args.subject_noise)
    t = time.time()
    truth, per = sim.fit(150, 100_000)
    print(f"{S} subjects (map noise {args.subject_noise}), 92 stimuli: population fit {truth:.4f} (sd over "
          f"subjects {per.std():.4f}; {time.time() - t:.0f} s)", flush=True)
    covered = {"two-factor, Welch df": [], "two-factor, rsatoolbox": [], "stimuli only (BC)": []}
    t = time.time()
    for e in range(args.experiments):
        mats = sim.experiment(S)
        r = inference.reference_fit(mats[:1], mats[1:], 92, "corr", n_boot=args.resamples,
                                    boot_seed=int(sim.rng.integers(1 << 30)), resample_subjects=True)
        for key, rule in (("two-factor, Welch df", "welch"), ("two-factor, rsatoolbox", "rsatoolbox")):
            lo, hi = inference.two_factor_tests(r["fit"], r["ceiling"], r["dual_cov"], S, 92, rule=rule)["ci"][0]
            covered[key].append(lo <= truth <= hi)
        lo, hi = metrics.interval(r["fit_boot"][:, 0], r["fit"][0], "bc")["ci95"]
        covered["stimuli only (BC)"].append(lo <= truth <= hi)
        if (e + 1) % 50 == 0:
            print(f"  {e + 1} experiments, {(time.time() - t) / (e + 1):.2f} s each", flush=True)
    mc = np.sqrt(0.95 * 0.05 / args.experiments)
    print(f"coverage of the 95 % interval over {args.experiments} experiments (Monte Carlo error {mc:.3f}):")
    for key, v in covered.items():
        print(f"  {key:<24} {np.mean(v):.3f}")


if __name__ == "__main__":
    main()

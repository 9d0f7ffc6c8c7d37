"""Cost of the two-factor inference of a reference fit against rsatoolbox's, side by side.

    python benchmarks/reference_fit.py            # 1,000 resamples, 1 and 30 model RDMs
    python benchmarks/reference_fit.py --n 200    # fewer resamples (rsatoolbox's run is the slow one)

The 92-image human IT data (8 RDMs: 4 subjects x 2 sessions, Kriegeskorte et al. 2008): models are the
monkey IT RDM, and 29 noisy mixtures of the subjects' RDMs (a network's layers' count).  repgeom:
:func:`repgeom.inference.reference_fit` with ``resample_subjects=True`` (one walk of the pair engine for all
stimulus resamples; the subject resamples re-weight its statistics).  rsatoolbox: ``eval_dual_bootstrap``
with fixed models, the same number of resamples (its documented public call).  Prints seconds for each and
their ratio, and the largest difference of the corrected standard errors' relative to each other (they draw
differently, so they agree within Monte Carlo error, not to rounding).
"""

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))
DATA = os.path.join(ROOT, "examples", "92images", "data")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="resamples")
    ap.add_argument("--models", default="1,30", help="numbers of model RDMs to time")
    args = ap.parse_args()
    from rsatoolbox.inference import eval_dual_bootstrap
    from rsatoolbox.model import ModelFixed
    from rsatoolbox.rdm import RDMs

    from repgeom import inference, references

    order = [str(k) for k in range(92)]
    hit, names, _ = references.read({"path": os.path.join(DATA, "92_brainRDMs.mat"), "variable": "RDMs",
                                     "stimulus_order": order})
    mit, _, _ = references.read({"path": os.path.join(DATA, "Kriegeskorte_Neuron2008_supplementalData.mat"),
                                 "variable": "RDMs_mIT_hIT_fig1", "select": ["mIT_674neurons"],
                                 "stimulus_order": order})
    hit = np.asarray(hit, dtype=np.float64)
    rng = np.random.default_rng(0)
    extra = []
    for _ in range(29):
        m = hit[rng.integers(0, 8, 3)].mean(0) + 0.3 * np.abs(rng.standard_normal((92, 92)))
        m = (m + m.T) / 2
        np.fill_diagonal(m, 0)
        extra.append(m)
    pool = [np.asarray(mit[0], dtype=np.float64)] + extra
    print(f"92 stimuli, 8 hIT RDMs, {args.n} resamples of stimuli x RDMs (corr)")
    print(f"{'models':>6} {'repgeom s':>10} {'rsatoolbox s':>13} {'ratio':>7} {'se rel. diff':>13}")
    for m in [int(v) for v in args.models.split(",")]:
        models = pool[:m]
        t = time.perf_counter()
        ours = inference.reference_fit(models, list(hit), 92, "corr", n_boot=args.n, boot_seed=1,
                                       resample_subjects=True)
        t_ours = time.perf_counter() - t
        tf = inference.two_factor_tests(ours["fit"], ours["ceiling"], ours["dual_cov"], 8, 92, rule="rsatoolbox")
        np.random.seed(1)
        t = time.perf_counter()
        import contextlib
        import io

        with contextlib.redirect_stderr(io.StringIO()):  # its progress bar
            result = eval_dual_bootstrap([ModelFixed(f"m{i}", x) for i, x in enumerate(models)], RDMs(hit),
                                         method="corr", N=args.n)
        t_rsa = time.perf_counter() - t
        rel = np.max(np.abs(tf["se"] - np.sqrt(result.model_var)) / np.sqrt(result.model_var))
        print(f"{m:>6} {t_ours:>10.2f} {t_rsa:>13.2f} {t_rsa / t_ours:>6.1f}x {rel:>13.3f}", flush=True)


if __name__ == "__main__":
    main()

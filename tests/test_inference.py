"""Noise ceilings and fits to subjects against rsatoolbox, on the 92-image human IT data (4 subjects x 2
sessions, Kriegeskorte et al. 2008)."""

import os

import numpy as np
import pytest

from conftest import REPO
from repgeom import compare, inference, pairstats, paths, references

DATA = os.path.join(REPO, "examples", "92images", "data")


def _hit():
    rdms, names, _ = references.read({"path": os.path.join(DATA, "92_brainRDMs.mat"), "variable": "RDMs",
                                      "stimulus_order": [str(k) for k in range(92)]})
    return np.asarray(rdms, dtype=np.float64), names


def _models(hit):
    """Model RDMs that are not the data: the monkey IT RDM, a noisy mean of two subjects, and a random one."""
    rng = np.random.default_rng(0)
    mit, _, _ = references.read({"path": os.path.join(DATA, "Kriegeskorte_Neuron2008_supplementalData.mat"),
                                 "variable": "RDMs_mIT_hIT_fig1", "select": ["mIT_674neurons"],
                                 "stimulus_order": [str(k) for k in range(92)]})
    noisy = hit[:2].mean(0) + 0.3 * np.abs(rng.standard_normal(hit.shape[1:]))
    noisy = (noisy + noisy.T) / 2
    np.fill_diagonal(noisy, 0)
    rand = np.abs(rng.standard_normal(hit.shape[1:]))
    rand = (rand + rand.T) / 2
    np.fill_diagonal(rand, 0)
    return [np.asarray(mit[0], dtype=np.float64), noisy, rand]


def _stats(mats):
    sources, _ = pairstats.distinct([pairstats.StoredRDM(m) for m in mats])
    (stats,) = pairstats.accumulate(sources, len(mats[0]), [pairstats.PairSums()])
    return stats


@pytest.mark.parametrize("method", inference.CEILING_METHODS)
def test_noise_ceiling_and_fits_equal_rsatoolbox_on_the_human_it_data(method):
    from rsatoolbox.inference import boot_noise_ceiling
    from rsatoolbox.rdm import RDMs
    from rsatoolbox.rdm import compare as rsa_compare

    hit, names = _hit()
    assert hit.shape == (8, 92, 92)
    models = _models(hit)
    stats = _stats(models + list(hit))
    lower, upper = inference.noise_ceiling(stats.G[3:, 3:], stats.sums[3:], stats.count, method)
    want = boot_noise_ceiling(RDMs(hit), method=method)
    assert abs(lower - want[0]) <= 1e-10 and abs(upper - want[1]) <= 1e-10
    assert 0 < lower < upper < 1
    fits = inference.subject_fits(stats.G, stats.sums, stats.count, [0, 1, 2], range(3, 11), method)
    np.testing.assert_allclose(fits, rsa_compare(RDMs(np.stack(models)), RDMs(hit), method=method),
                               rtol=0, atol=1e-10)
    mean_fit = fits.mean(1)
    assert mean_fit[1] > mean_fit[2]  # two subjects' mean (plus noise) fits better than a random RDM


def test_ceilings_on_resamples_equal_the_ceiling_of_the_resampled_matrices():
    """The weighted pair statistics of a stimulus resample give the ceiling rsatoolbox computes on the
    resampled RDMs (repeat pairs NaN, as its ``subsample_pattern`` marks them)."""
    from rsatoolbox.inference import boot_noise_ceiling
    from rsatoolbox.rdm import RDMs

    hit, _ = _hit()
    samples = paths.stimulus_resamples(92, 4, 1)
    sources, _ = pairstats.distinct([pairstats.StoredRDM(m) for m in hit])
    (boot,) = pairstats.accumulate(sources, 92, [compare.resample_reduction("corr", samples, 92)])
    got = inference.resampled_ceilings(boot.G, boot.sums, boot.count, range(8), "corr")
    for b, s in enumerate(samples):
        mats = hit[:, s][:, :, s].copy()
        mats[:, s[:, None] == s[None, :]] = np.nan
        mats[:, np.arange(92), np.arange(92)] = 0
        want = boot_noise_ceiling(RDMs(mats), method="corr")
        np.testing.assert_allclose(got[b], want, rtol=0, atol=1e-10)


def test_a_ceiling_needs_two_subjects_and_an_accumulated_comparison():
    G = np.eye(2)
    with pytest.raises(ValueError, match="at least two"):
        inference.noise_ceiling(G[:1, :1], np.ones(1), 3, "cosine")
    with pytest.raises(ValueError, match="spearman"):
        inference.noise_ceiling(G, np.ones(2), 3, "spearman")


def test_a_reference_fit_is_the_mean_comparison_with_every_subject_and_its_resamples_those_of_the_matrices():
    from rsatoolbox.inference import boot_noise_ceiling
    from rsatoolbox.rdm import RDMs
    from rsatoolbox.rdm import compare as rsa_compare

    hit, _ = _hit()
    models = _models(hit)
    fit = inference.reference_fit(models, list(hit), 92, "corr", n_boot=3, boot_seed=2, block=40)
    np.testing.assert_allclose(fit["fit"], rsa_compare(RDMs(np.stack(models)), RDMs(hit), method="corr").mean(1),
                               rtol=0, atol=1e-10)
    for b, s in enumerate(fit["samples"]):
        mats = np.concatenate([np.stack(models), hit])[:, s][:, :, s].copy()
        mats[:, s[:, None] == s[None, :]] = np.nan
        mats[:, np.arange(92), np.arange(92)] = 0
        want = rsa_compare(RDMs(mats[:3]), RDMs(mats[3:]), method="corr").mean(1)
        np.testing.assert_allclose(fit["fit_boot"][b], want, rtol=0, atol=1e-10)
        np.testing.assert_allclose(fit["ceiling_boot"][b], boot_noise_ceiling(RDMs(mats[3:]), method="corr"),
                                   rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="two subjects"):
        inference.reference_fit(models, list(hit[:1]), 92, "corr")


@pytest.mark.slow
def test_the_fit_and_ceiling_intervals_cover_their_population_values():
    """Four simulated subjects (each its own fixed map of the stimuli plus measurement noise) and a model
    layer; population values over 2 million independent stimulus pairs (these subjects: they are not
    resampled).  300 experiments of 92 stimuli, 1,000 resamples, the record's bias-corrected intervals: the
    fit covered 0.957, the lower ceiling 0.933, the upper 0.923 when measured (Monte Carlo error 0.0126)."""
    from repgeom import metrics, rdm

    rng = np.random.default_rng(23)
    K, d, S = 6, 12, 4
    mu = rng.standard_normal((K, d)) * 0.9
    B0 = rng.standard_normal((d, d)) / np.sqrt(d)
    maps = [B0 + 0.4 * rng.standard_normal((d, d)) / np.sqrt(d) for _ in range(S)]
    C = B0 + 0.8 * rng.standard_normal((d, d)) / np.sqrt(d)

    def layers(classes):
        x = mu[classes] + rng.standard_normal((len(classes), d))
        return ([np.tanh(x @ C * 1.2) + 0.5 * rng.standard_normal(x.shape)]
                + [np.tanh(x @ B * 1.2) + 0.8 * rng.standard_normal(x.shape) for B in maps])

    G, sums, count = np.zeros((S + 1, S + 1)), np.zeros(S + 1), 0
    for _ in range(8):
        c1, c2 = rng.integers(0, K, (2, 250_000))
        V = np.stack([((a - b) ** 2).mean(1) for a, b in zip(layers(c1), layers(c2))])
        G, sums, count = G + V @ V.T, sums + V.sum(1), count + V.shape[1]
    truth = {"fit": inference.subject_fits(G, sums, count, [0], range(1, S + 1), "corr").mean()}
    truth["lower"], truth["upper"] = inference.noise_ceiling(G[1:, 1:], sums[1:], count, "corr")
    n, covered = 92, {k: [] for k in truth}
    for _ in range(300):
        mats = [rdm.compute(f, "euclidean") for f in layers(rng.integers(0, K, n))]
        r = inference.reference_fit(mats[:1], mats[1:], n, "corr", n_boot=1000, boot_seed=int(rng.integers(1 << 30)))
        for key, est, reps in (("fit", r["fit"][0], r["fit_boot"][:, 0]),
                               ("lower", r["ceiling"][0], r["ceiling_boot"][:, 0]),
                               ("upper", r["ceiling"][1], r["ceiling_boot"][:, 1])):
            lo, hi = metrics.interval(reps, est, metrics.INTERVAL_METHOD)["ci95"]
            covered[key].append(lo <= truth[key] <= hi)
    coverage = {k: float(np.mean(v)) for k, v in covered.items()}
    assert 0.92 <= coverage["fit"] <= 0.98, coverage
    assert 0.90 <= coverage["lower"] <= 0.98 and 0.90 <= coverage["upper"] <= 0.98, coverage


def _rsatoolbox_dual_bootstrap(hit, models, names, n, group):
    """rsatoolbox's eval_dual_bootstrap on the data, with the subjects and stimuli each of its resamples drew
    (read off its own ``bootstrap_sample`` as it runs, the function itself unchanged)."""
    import rsatoolbox.inference.evaluate as evaluate
    from rsatoolbox.model import ModelFixed
    from rsatoolbox.rdm import RDMs

    subject = np.array([name.split("|")[1].strip() for name in names])
    data = RDMs(hit, rdm_descriptors={"subject": subject})
    drawn = []
    real = evaluate.bootstrap_sample

    def recording(*args, **kwargs):
        out = real(*args, **kwargs)
        drawn.append((out[1], out[2]))
        return out

    evaluate.bootstrap_sample = recording
    try:
        np.random.seed(3)
        result = evaluate.eval_dual_bootstrap([ModelFixed(f"m{i}", m) for i, m in enumerate(models)], data,
                                              method="corr", N=n, rdm_descriptor="subject" if group else "index")
    finally:
        evaluate.bootstrap_sample = real
    order = sorted(set(subject))
    units = np.array([order.index(s) for s in subject]) if group else np.arange(len(hit))
    draws = np.array([[order.index(x) for x in rdm_idx] if group else rdm_idx for rdm_idx, _ in drawn])
    return result, units, draws, np.array([p for _, p in drawn])


@pytest.mark.parametrize("group", [False, True], ids=["rdms", "subjects"])
def test_the_two_factor_bootstrap_equals_rsatoolbox_eval_dual_bootstrap(group):
    """Same resamples, same numbers: every resample's fits and ceilings (both factors, subjects only, stimuli
    only), the three covariances, the corrected variances, the t intervals and the tests.  With the sessions
    grouped into 4 subjects rsatoolbox still counts 8 RDMs in its correction and degrees of freedom; repgeom
    counts the 4 subjects resampled (its own extract_variances, given 4, agrees)."""
    from rsatoolbox.util.inference_util import extract_variances

    hit, names = _hit()
    models = _models(hit)
    result, units, draws, samples = _rsatoolbox_dual_bootstrap(hit, models, names, 40, group)
    ours = inference.reference_fit(models, list(hit), 92, "corr", units=units, resample_subjects=True,
                                   samples=samples, draws=draws)
    np.testing.assert_allclose(ours["dual_fit"], result.evaluations[:, :, 0, 0, :], rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours["dual_ceiling"], result.noise_ceiling[:, :, 0, :].transpose(1, 0, 2),
                               rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours["dual_cov"], result.variances, rtol=0, atol=1e-12)
    n_units = len(set(units))
    model_var, diff_var, nc_var = extract_variances(result.variances, True, n_rdm=n_units, n_pattern=92)
    means = result.get_means()
    nc_mean = np.nanmean(result.noise_ceiling, axis=(1, 2, 3))
    tf = inference.two_factor_tests(means, nc_mean, ours["dual_cov"], n_units, 92, rule="rsatoolbox")
    np.testing.assert_allclose(tf["se"] ** 2, model_var, rtol=1e-10, atol=0)
    np.testing.assert_allclose(tf["ceiling_gap_se"] ** 2, nc_var[:, 0], rtol=1e-10, atol=0)
    iu = np.triu_indices(len(models), 1)
    np.testing.assert_allclose(tf["diff_se"][iu] ** 2, diff_var, rtol=1e-10, atol=0)
    if not group:  # rsatoolbox's own tests and intervals (its correction counts RDMs = subjects here)
        np.testing.assert_allclose(tf["ci"].T, result.get_ci(0.95), rtol=0, atol=1e-10)
        np.testing.assert_allclose(tf["p_pairwise"][iu], result.test_pairwise()[iu], rtol=0, atol=1e-10)
        np.testing.assert_allclose(tf["p_ceiling"], result.test_noise(), rtol=0, atol=1e-10)
    assert np.all(tf["dof"] == min(n_units, 92) - 1)
    welch = inference.two_factor_tests(means, nc_mean, ours["dual_cov"], n_units, 92)
    assert np.all(welch["se"] >= tf["se"] * (1 - 1e-12))  # rsatoolbox's upper clip is the tighter
    assert np.all(welch["dof"] >= tf["dof"]) and np.all(welch["dof"] <= (n_units - 1) + 91)


def test_a_subject_resample_counts_each_drawn_subject_as_often_as_drawn():
    """Ceilings and fits on an explicit subject draw equal rsatoolbox's on the resampled RDMs."""
    from rsatoolbox.inference import boot_noise_ceiling
    from rsatoolbox.rdm import RDMs
    from rsatoolbox.rdm import compare as rsa_compare

    hit, _ = _hit()
    models = _models(hit)
    draw = np.array([[0, 0, 3, 5, 5, 5, 6, 1]])
    no_stimulus_resample = np.arange(92)[None]
    out = inference.reference_fit(models, list(hit), 92, "corr", resample_subjects=True,
                                  samples=no_stimulus_resample, draws=draw)
    drawn = RDMs(hit[draw[0]], rdm_descriptors={"index": draw[0]})
    np.testing.assert_allclose(out["dual_fit"][0, :, 1], rsa_compare(RDMs(np.stack(models)), drawn,
                                                                      method="corr").mean(1), rtol=0, atol=1e-10)
    np.testing.assert_allclose(out["dual_ceiling"][0, :, 1], boot_noise_ceiling(drawn, method="corr"),
                               rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="three or more subjects"):
        inference.reference_fit(models, list(hit), 92, "corr", units=[0, 0, 0, 0, 1, 1, 1, 1], n_boot=5,
                                resample_subjects=True)


@pytest.mark.slow
def test_the_two_factor_fit_interval_covers_the_mean_over_new_subjects_and_stimuli():
    """Every experiment measures 6 new subjects (each a random map of the stimuli plus measurement noise) on 92
    new stimuli; the population value is the mean fit over 60 simulated subjects and 600,000 stimulus pairs.
    ``python benchmarks/coverage_two_factor.py`` measures it over 300 experiments with 1,000 resamples
    (docs/decisions.md: the two-factor t interval with Welch-Satterthwaite df, rsatoolbox's 5 df, and the
    stimulus-only interval, which ignores that the subjects are a sample); here 100 experiments with 400
    resamples (Monte Carlo error 0.02)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("coverage_two_factor",
                                                  os.path.join(REPO, "benchmarks", "coverage_two_factor.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    sim = bench.SubjectPopulation(seed=31, subject_noise=1.5)
    truth, _ = sim.fit(60, 150_000)
    covered = []
    for _ in range(100):
        mats = sim.experiment(6)
        r = inference.reference_fit(mats[:1], mats[1:], 92, "corr", n_boot=400,
                                    boot_seed=int(sim.rng.integers(1 << 30)), resample_subjects=True)
        lo, hi = r["two_factor"]["ci"][0]
        covered.append(lo <= truth <= hi)
    assert 0.91 <= np.mean(covered) <= 0.99, np.mean(covered)

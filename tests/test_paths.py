import numpy as np
import pytest
from rsatoolbox.rdm import RDMs, compare

from repgeom import compare as cmp, paths, rdm


def _rdms(n=40, k=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rdm.compute(rng.standard_normal((n, 3 + i)), "euclidean") for i in range(k)]


@pytest.mark.parametrize("method", ["cosine", "corr"])
@pytest.mark.parametrize("block", [7, 1024])
def test_streamed_comparison_equals_rsatoolbox(method, block):
    mats = _rdms()
    ref = compare(RDMs(np.stack(mats)), RDMs(np.stack(mats)), method=method)
    got = cmp.similarity(mats, 40, method, block=block)
    assert np.allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_nan_positions_are_left_out_of_every_comparison_like_rsatoolbox():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 6))
    X[4] = 1.0  # constant pattern: its correlation distances are NaN
    mats = [rdm.compute(X, "correlation"), rdm.compute(X[:, ::-1] ** 2, "euclidean"), _rdms(30, 1)[0]]
    ref = compare(RDMs(np.stack(mats)), RDMs(np.stack(mats)), method="cosine")
    assert np.allclose(cmp.similarity(mats, 30, "cosine", block=4), ref, rtol=1e-12)


def test_zero_rdm_has_cosine_zero():
    # rsatoolbox documents the same (zero-norm -> 0), but its np.putmask fill scrambles the other
    # entries whenever a zero-norm RDM is present; ours keeps them equal to the all-nonzero result.
    mats = _rdms(k=3) + [np.zeros((40, 40))]
    got = cmp.similarity(mats, 40, "cosine")
    assert np.all(got[3] == 0) and np.all(got[:, 3] == 0)
    assert np.allclose(got[:3, :3], compare(RDMs(np.stack(mats[:3])), RDMs(np.stack(mats[:3])), method="cosine"))


def test_other_methods_go_to_rsatoolbox():
    mats = _rdms()
    for method in ("spearman", "tau-a", "rho-a"):
        ref = compare(RDMs(np.stack(mats)), RDMs(np.stack(mats)), method=method)
        assert np.allclose(cmp.similarity(mats, 40, method), ref)


def test_distance_transforms():
    sim = np.array([[1.0, 0.5], [0.5, 1.0 + 1e-12]])
    assert np.allclose(paths.similarity_to_distance(sim, "arccos"), [[0, np.arccos(0.5)], [np.arccos(0.5), 0]])
    assert np.allclose(paths.similarity_to_distance(sim, "one_minus"), [[0, 0.5], [0.5, 0]])
    assert paths.similarity_to_distance(np.array([[1, np.nan], [np.nan, 1]]))[0, 1] == 0
    with pytest.raises(ValueError):
        paths.similarity_to_distance(sim, "sqrt")


def test_mds_is_seeded_and_procrustes_undoes_reflection():
    mats = _rdms(k=6)
    dist = paths.similarity_to_distance(cmp.similarity(mats, 40))
    a = paths.embed_mds(dist, seed=3)
    assert np.array_equal(a, paths.embed_mds(dist, seed=3))
    mirrored = a * np.array([-1, 1]) + 5
    aligned, disparity = paths.procrustes_align(a, mirrored)
    assert disparity < 1e-12 and np.allclose(aligned, a, atol=1e-9)


@pytest.mark.parametrize("method", ["cosine", "corr"])
def test_torch_comparison_equals_numpy_comparison(method):
    import torch

    mats = _rdms()
    mats[1][3, 5] = mats[1][5, 3] = np.nan
    got = cmp.similarity([torch.from_numpy(m) for m in mats], 40, method, block=9, device="torch-cpu")
    assert np.allclose(got, cmp.similarity(mats, 40, method), rtol=1e-12, atol=1e-12)


def test_procrustes_disparity_of_a_distorted_copy_is_small_but_positive():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((14, 2))
    rot = np.array([[0, -1], [1, 0]])
    b = (a @ rot) * 3 + 1 + 0.01 * rng.standard_normal((14, 2))
    aligned, disparity = paths.procrustes_align(a, b)
    assert 0 < disparity < 1e-3
    assert np.abs(aligned - a).max() < 0.05


@pytest.mark.parametrize("method", ["cosine", "corr", "spearman"])
def test_a_resample_compares_the_resampled_matrices_without_self_pairs(method):
    mats = _rdms(n=25, k=4, seed=3)
    index = np.random.default_rng(0).integers(0, 25, size=25)  # with repeats
    got = cmp.similarity(mats, 25, method, block=6, stim_index=index)
    resampled = []
    for m in mats:
        r = m[np.ix_(index, index)].copy()
        r[index[:, None] == index[None, :]] = np.nan  # a stimulus with its own repeat is no pair
        resampled.append(r)
    ref = compare(RDMs(np.stack(resampled)), RDMs(np.stack(resampled)), method=method)
    assert np.allclose(got, ref, rtol=1e-10, atol=1e-12)
    identity = cmp.similarity(mats, 25, method, block=6, stim_index=np.arange(25))
    assert np.allclose(identity, cmp.similarity(mats, 25, method), rtol=1e-12, atol=1e-12)


def _entries(mats):
    return [paths.Entry("a", "model", ["input", "h1", "out"], mats[:3]),
            paths.Entry("b", "model", ["input", "out"], [mats[0], mats[3]]),
            paths.Entry("labels", "labels", ["labels"], [mats[4]], "point")]


def test_path_assembles_entries_and_hides_repeated_inputs_only():
    mats = _rdms(k=5)
    p = paths.path(_entries(mats), 40)
    assert p.names == ["a"] * 3 + ["b"] * 2 + ["labels"] and p.kinds[-1] == "labels"
    assert p.shown.tolist() == [True, True, True, False, True, True]  # b's input repeats a's
    assert p.extra["nan_pairs"].tolist() == [0] * 6 and p.extra["pairs"] == 40 * 39 // 2
    ref = compare(RDMs(np.stack([mats[i] for i in (0, 1, 2, 0, 3, 4)])),
                  RDMs(np.stack([mats[i] for i in (0, 1, 2, 0, 3, 4)])), method="cosine")
    assert np.allclose(p.similarity, ref, rtol=1e-12)
    other_input = [paths.Entry("a", "model", ["input", "out"], mats[:2]),
                   paths.Entry("c", "model", ["input", "out"], mats[2:4])]  # another preprocessing: kept
    assert paths.path(other_input, 40).shown.all()


@pytest.mark.parametrize("method", ["cosine", "cka"])
def test_every_seed_is_resampled_with_the_same_stimuli_as_its_own_path(method):
    """With seeds (replicates), each replicate's resampled distances are those of its own path on the same
    stimulus draws: one walk, every seed on the same resamples (the input of intervals over stimuli x seeds)."""
    mats = _rdms(k=7)
    replicates = [_entries(mats[:5]),
                  [paths.Entry("a", "model", ["input", "h1", "out"], [mats[0], mats[5], mats[6]])] + _entries(mats)[1:]]
    both = paths.compute(replicates, 40, method, n_boot=6, boot_seed=4, resample_replicates=True)
    got = both.bootstrap["replicate_distance"]
    assert got.shape == (2, 6, 6, 6)
    np.testing.assert_array_equal(got[0], both.bootstrap["distance"])
    alone = paths.compute(replicates[1:], 40, method, n_boot=6, boot_seed=4)
    np.testing.assert_allclose(got[1], alone.bootstrap["distance"], rtol=0, atol=1e-10)
    assert not np.allclose(got[0], got[1])

"""The pair engine (repgeom.pairstats): RDMs streamed from features in row blocks give the numbers of whole cubes."""

import os

import numpy as np
import pytest

from repgeom import compare, entries, pairstats, rdm, store


def _features(n, seed=0):
    """Three nodes of different widths (one with a constant pattern under correlation), classes as labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 4
    centres = rng.standard_normal((4, 30)).astype(np.float32)
    a = (centres[labels] + 0.8 * rng.standard_normal((n, 30))).astype(np.float32)
    b = np.maximum(a @ rng.standard_normal((30, 45)).astype(np.float32), 0).reshape(n, 5, 9)
    c = np.tanh(b.reshape(n, -1) @ rng.standard_normal((45, 7)).astype(np.float32))
    return {"a": a, "b": b, "c": c}, labels


def _cube_route(feats, labels, method, compare_method):
    mats = [rdm.compute(feats[k], method) for k in feats]
    mats.append(rdm.labels_rdm(labels, 4, method))
    nan_pairs = []
    return compare.similarity(mats, len(labels), compare_method, nan_pairs=nan_pairs), nan_pairs


def _streamed(feats, labels, method, compare_method, block, device="cpu", index=None, nan_pairs=None):
    sources = [pairstats.FeatureRDM(v, method, k) for k, v in feats.items()]
    sources.append(pairstats.LabelsRDM(labels, 4, method))
    rdms = sources if index is None else [sources[i] for i in index]
    return compare.similarity(rdms, len(labels), compare_method, block=block, device=device, nan_pairs=nan_pairs)


@pytest.mark.parametrize("method,compare_method", [("euclidean", "cosine"), ("euclidean", "corr"),
                                                   ("correlation", "cosine"), ("correlation", "corr"),
                                                   ("euclidean", "cka")])
@pytest.mark.parametrize("block", [40, 57, 137, 500])
def test_streamed_similarity_equals_the_cube_route(method, compare_method, block):
    feats, labels = _features(137)
    want, _ = _cube_route(feats, labels, method, compare_method)
    got = _streamed(feats, labels, method, compare_method, block)
    assert got.shape == want.shape == (4, 4)
    assert np.abs(got - want).max() <= 1e-6


def _hsic_u(K, L):
    """The unbiased HSIC estimator (Song et al. 2012), brute force in float64."""
    n = len(K)
    K, L = K.copy(), L.copy()
    np.fill_diagonal(K, 0)
    np.fill_diagonal(L, 0)
    one = np.ones(n)
    return (np.trace(K @ L) + (one @ K @ one) * (one @ L @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * one @ K @ L @ one) / (n * (n - 3))


def test_cka_from_pair_statistics_equals_the_estimator_on_the_kernels_the_rdms_imply():
    """Stored RDMs walked in blocks that don't divide n: CKA of K = -1/2 J D J, brute force, to 1e-10."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 8))
    Y = X @ rng.standard_normal((8, 8)) + 0.3 * rng.standard_normal((60, 8))
    mats = [rdm.compute(M, "euclidean") for M in (X, Y, rng.standard_normal((60, 3)))]
    J = np.eye(60) - 1 / 60
    kernels = [-0.5 * J @ m @ J for m in mats]
    want = np.array([[_hsic_u(a, b) / np.sqrt(_hsic_u(a, a) * _hsic_u(b, b)) for b in kernels] for a in kernels])
    got = compare.similarity([pairstats.StoredRDM(m) for m in mats], 60, "cka", block=17)
    assert np.abs(got - want).max() <= 1e-10
    assert np.allclose(np.diag(got), 1.0)


def test_constant_patterns_are_left_out_as_the_cube_route_leaves_them_out():
    feats, labels = _features(90)
    feats["a"][[3, 50]] = 1.0  # constant rows: NaN under the correlation distance
    want_nan = []
    want = compare.similarity([rdm.compute(feats[k], "correlation") for k in feats]
                              + [rdm.labels_rdm(labels, 4, "correlation")], 90, "cosine", nan_pairs=want_nan)
    got_nan = []
    got = _streamed(feats, labels, "correlation", "cosine", block=32, nan_pairs=got_nan)
    assert got_nan == want_nan and got_nan[0] == 2 * 89 - 1
    assert np.abs(got - want).max() <= 1e-6
    with pytest.raises(ValueError, match="CKA needs RDMs without NaN"):
        _streamed(feats, labels, "correlation", "cka", block=32)


def test_aliases_are_computed_once_and_repeat_their_rows():
    feats, labels = _features(70)
    sources = [pairstats.FeatureRDM(feats["a"], "euclidean"), pairstats.LabelsRDM(labels, 4, "euclidean")]
    assert pairstats.distinct([sources[0], sources[0], sources[1]]) == (sources, [0, 0, 1])
    got = compare.similarity([sources[0], sources[0], sources[1]], 70, "cosine", block=30)
    want = compare.similarity([rdm.compute(feats["a"])] * 2 + [rdm.labels_rdm(labels, 4)], 70, "cosine")
    assert np.abs(got - want).max() <= 1e-6


def test_torch_back_end_equals_numpy():
    pytest.importorskip("torch")
    feats, labels = _features(101)
    for compare_method in ("cosine", "corr", "cka"):
        a = _streamed(feats, labels, "euclidean", compare_method, 40)
        b = _streamed(feats, labels, "euclidean", compare_method, 40, device="torch-cpu")
        assert np.abs(a - b).max() <= 1e-6


def test_features_read_from_a_store_in_row_blocks(tmp_path):
    feats, labels = _features(230)
    n = len(labels)

    def batches():
        for s in range(0, n, 50):
            yield s, {k: v[s:s + 50].reshape(min(50, n - s), -1) for k, v in feats.items()}, \
                store.NodeLayout(shapes={k: list(v.shape[1:]) for k, v in feats.items()})

    path = str(tmp_path / "f.zarr")
    store.write_features_store(path, batches(), np.arange(n), labels, {}, 50)
    g = store.open_group(path)
    assert os.path.getsize(os.path.join(path, "b", "c", "4", "0")) == 50 * 45 * 4 + 4  # the edge chunk, whole
    for k, v in feats.items():  # chunk files written directly read back through zarr, checksums included
        assert np.array_equal(np.asarray(g[k][:]), v.reshape(n, -1))
    assert np.array_equal(g["b"].read_rows(30, 170), feats["b"].reshape(n, -1)[30:170])
    want, _ = _cube_route(feats, labels, "euclidean", "cosine")
    got = _streamed({k: g[k] for k in feats}, labels, "euclidean", "cosine", block=100)
    assert np.abs(got - want).max() <= 1e-6
    # a damaged chunk is an error naming the store and the array, never a number
    chunk = os.path.join(path, "b", "c", "1", "0")
    with open(chunk, "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(store.StoreDamaged, match=r"f\.zarr, array 'b'.*checksum"):
        g["b"].read_rows(0, 100)
    os.truncate(chunk, 1000)
    with pytest.raises(store.StoreDamaged, match="truncated"):
        g["b"].read_rows(60, 70)


@pytest.mark.parametrize("method", ["euclidean", "correlation"])
def test_a_derived_node_streams_as_its_values_would(method):
    """A ReLU node streamed from its stored input (op applied to every row block, in the column means too)."""
    feats, labels = _features(137)
    pre = feats["a"] @ np.random.default_rng(1).standard_normal((30, 20)).astype(np.float32)
    want, _ = _cube_route({"pre": pre, "post": np.maximum(pre, 0)}, labels, method, "cosine")
    sources = [pairstats.FeatureRDM(pre, method, "pre"), pairstats.FeatureRDM(pre, method, "relu(pre)", op="relu")]
    sources.append(pairstats.LabelsRDM(labels, 4, method))
    got = compare.similarity(sources, len(labels), "cosine", block=57)
    assert np.abs(got - want).max() <= 1e-6 and got[0, 1] < 0.999  # the op changed the RDM


def test_whole_matrix_comparisons_take_streamed_rdms_too():
    """A rank comparison gets whole matrices from the same walk (here: made from features block by block)."""
    feats, labels = _features(30)
    feats = {k: feats[k] for k in "ab"}  # c's tanh saturates: near-ties whose ranks float32 rounding can swap
    want, _ = _cube_route(feats, labels, "euclidean", "spearman")
    assert np.abs(_streamed(feats, labels, "euclidean", "spearman", 10) - want).max() <= 1e-6
    assert set(compare.streamable_comparisons()) == {"cosine", "corr", "cka"}


def test_block_for_budget_fits_and_is_a_multiple_of_the_chunk_rows():
    sources = [pairstats.FeatureRDM(np.zeros((2000, 36864), np.float32), "euclidean")] * 3

    def need(block):
        return block * 3 * 36864 * 4 + block * 36864 * 4 + 3 * block * block * 4 + pairstats.ACCUMULATE_BYTES

    block = pairstats.block_for_budget(sources, 2000, 1e9, multiple=250, min_spans=1)
    assert block % 250 == 0 and need(block) <= 1e9 < need(block + 250)
    # everything in one block: no paired block to read
    assert pairstats.block_for_budget(sources, 2000, 1e12, multiple=250, min_spans=1) == 2000
    # by default no block is above a quarter of the stimuli (rounded up to the chunk rows), nor above the budget
    assert pairstats.block_for_budget(sources, 2000, 1e12, multiple=250) == 500
    assert pairstats.block_for_budget(sources, 2100, 1e12, multiple=250) == 750
    assert pairstats.block_for_budget(sources, 2000, 1e9, multiple=250) == min(block, 500)
    assert pairstats.block_for_budget(sources, 200, 1e12, multiple=250) == 200


@pytest.mark.parametrize("accumulate_bytes", [1e3, 2e4])
def test_accumulating_in_row_chunks_changes_nothing(monkeypatch, accumulate_bytes):
    feats, labels = _features(90)
    feats["a"][[3, 50]] = 1.0  # NaN pairs under correlation, in chunks of diagonal and off-diagonal blocks
    want_nan = []
    want = _streamed(feats, labels, "correlation", "corr", block=40, nan_pairs=want_nan)
    monkeypatch.setattr(pairstats, "ACCUMULATE_BYTES", accumulate_bytes)  # a few rows per chunk
    got_nan = []
    got = _streamed(feats, labels, "correlation", "corr", block=40, nan_pairs=got_nan)
    assert got_nan == want_nan and np.abs(got - want).max() <= 1e-12
    for compare_method in ("cosine", "cka"):
        feats, labels = _features(77)
        cube, _ = _cube_route(feats, labels, "euclidean", compare_method)
        assert np.abs(_streamed(feats, labels, "euclidean", compare_method, 30) - cube).max() <= 1e-6
        got = _streamed(feats, labels, "euclidean", compare_method, 30, device="torch-cpu")
        assert np.abs(got - cube).max() <= 1e-6


# ---- the path analysis: config, plan ---------------------------------------------------------------------

def _plan(paths, stimuli=None, data=None):
    import copy

    import yaml

    from conftest import REPO
    from repgeom import config as cfgmod
    from repgeom.plan import Plan

    with open(os.path.join(REPO, "config.yaml")) as f:
        cfg = yaml.safe_load(f)
    cfg = copy.deepcopy(cfg)
    cfg["paths"].update(paths)
    cfg["stimuli"].update(stimuli or {})
    if data:
        cfg["data"] = data
    schema = cfgmod.load_schema(os.path.join(REPO, "workflow/schemas/config.schema.yaml"))
    return Plan(cfgmod.validate(cfg, schema))


def test_a_streamed_path_reads_feature_stores_and_no_cubes(tmp_path):
    from repgeom.artifacts import FeatureStore, ModelCube, StimulusSet

    plan = _plan({"big": {"models": ["standard", "recurrent"], "stimuli": "first_900", "stream": True,
                          "compare": "cka"}}, stimuli={"first_900": {"kind": "first", "n": 900}})
    reqs = plan.analysis_requests("paths", "big")
    assert FeatureStore("standard", "first_900") in reqs and StimulusSet("first_900") in reqs
    assert not any(isinstance(r, ModelCube) for r in reqs)
    assert not any(key[2] == "first_900" for key in plan.model_cubes)
    assert not any(key[1] == "first_900" for key in plan.labels_cubes)
    assert plan.feature_nodes("standard", "first_900")[-1] == "softmax"  # the store holds every node read
    job = plan.analysis_job("paths", "big")
    assert job["stream"] == {"memory_mb": 2000, "threads": 2, "device": "cpu"}
    assert job["entries"][0]["store"] == "results/features/standard/first_900.zarr"
    assert job["entries"][-1]["store"] == "results/stimuli/first_900.zarr"
    assert plan.analysis_threads("paths", "big") == 2 and plan.analysis_mem_mb("paths", "big") == 3000
    assert "results/features/recurrent/first_900.zarr" in plan.analysis_inputs("paths", "big")
    assert "results/rdms/euclidean/standard/first_900.zarr" not in plan.targets()


def test_auto_streams_when_the_cubes_would_exceed_the_budget(tmp_path):
    import struct

    for split, count in (("train", 60000), ("t10k", 10000)):  # IDX files of the right sizes (blank images)
        images = tmp_path / f"{split}-images-idx3-ubyte"
        images.write_bytes(struct.pack(">IIII", 0x803, count, 28, 28))
        os.truncate(images, 16 + count * 784)
        labels = (np.arange(count) % 10).astype(np.uint8).tobytes()
        (tmp_path / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, count) + labels)
    data = {"source": "idx", "idx_dir": str(tmp_path)}
    plan = _plan({"test_set": {"models": ["standard"], "stimuli": "all_10000"},
                  "small": {"models": ["standard"], "stimuli": "clean_50"},
                  "budget": {"models": ["standard"], "stimuli": "all_10000", "memory_mb": 100000},
                  "boot": {"models": ["standard"], "stimuli": "all_10000", "bootstrap": {"n": 10}},
                  "boot_cka": {"models": ["standard"], "stimuli": "all_10000", "bootstrap": {"n": 10},
                               "compare": "cka"}},
                 stimuli={"all_10000": {"kind": "first", "n": 10000}}, data=data)
    kind = plan.analysis_kind("paths")
    # 13 nodes + labels, 10,000^2 float32 each: 5.6 GB of cubes > 2000 MB -> streamed
    streams = {name: kind.route(plan.analyses[("paths", name)], plan).streamed
               for name in ("test_set", "small", "budget", "boot", "boot_cka")}
    # resamples of cosine and CKA are weighted pair statistics: they stream too
    assert streams == {"test_set": True, "small": False, "budget": False, "boot": True, "boot_cka": True}
    assert plan.analysis_job("paths", "test_set")["stream"]["memory_mb"] == 2000


def test_a_path_bootstrap_is_stratified_on_sets_with_a_fixed_number_of_each_class_unless_told():
    boot = {"n": 10}
    plan = _plan({"per_class": {"models": ["standard"], "stimuli": "clean_50", "bootstrap": boot},
                  "fgsm": {"models": ["standard"], "stimuli": "fgsm_standard_50", "bootstrap": boot},
                  "first": {"models": ["standard"], "stimuli": "first_900", "bootstrap": boot},
                  "told_off": {"models": ["standard"], "stimuli": "clean_50", "bootstrap": {**boot, "stratify": False}},
                  "told_on": {"models": ["standard"], "stimuli": "first_900", "bootstrap": {**boot, "stratify": True}},
                  "none": {"models": ["standard"], "stimuli": "clean_50"}},
                 stimuli={"first_900": {"kind": "first", "n": 900}})
    got = {name: plan.analysis_job("paths", name)["bootstrap"]["stratify"]
           for name in ("per_class", "fgsm", "first", "told_off", "told_on", "none")}
    assert got == {"per_class": True, "fgsm": True, "first": False, "told_off": False, "told_on": True, "none": False}


@pytest.mark.parametrize("spec,message", [
    ({"compare": "spearman"}, "needs whole matrices"),
    ({"rdm_method": "mahalanobis"}, "not a Gram-product method"),
])
def test_streaming_what_cannot_stream_is_a_config_error(spec, message):
    from repgeom.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        _plan({"p": {"models": ["standard"], "stimuli": "clean_50", "stream": True, **spec}})


def test_the_whole_test_split_of_an_idx_source_is_a_stimulus_set(tmp_path):
    """``first: 10000`` over official-format IDX files: every held-out digit, in file order, labels kept."""
    import struct

    from repgeom import mnist
    from repgeom.stimuli import STIMULUS_KINDS

    rng = np.random.default_rng(0)
    for split, count in (("train", 600), ("t10k", 10000)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, count).astype(np.uint8)
        (tmp_path / f"{split}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, count, 28, 28)
                                                              + images.tobytes())
        (tmp_path / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, count) + labels.tobytes())
    data = mnist.load("idx", idx_dir=str(tmp_path))
    stim = STIMULUS_KINDS["first"].make({"kind": "first", "n": 10000}, data)
    assert stim.images.shape == (10000, 1, 28, 28) and list(stim.ids) == list(range(10000))
    assert np.array_equal(stim.labels, data.test_labels)
    assert np.array_equal(stim.images[:, 0], data.test_images / np.float32(255))
    with pytest.raises(ValueError, match="only 10000"):
        STIMULUS_KINDS["first"].make({"kind": "first", "n": 10001}, data)


def test_entries_over_other_stimuli_are_refused_naming_both_stores(tmp_path):
    labels = np.arange(6) % 2
    for name, ids in (("a", np.arange(6)), ("b", np.arange(6)[::-1])):
        store.write_cube(str(tmp_path / f"{name}.zarr"), ids, labels, ["labels"],
                         [rdm.labels_rdm(labels, 2)], {"method": "euclidean"})
    job_entries = [{"name": n, "kind": "labels", "store": str(tmp_path / f"{n}.zarr"), "layers": ["labels"],
                    "draw_as": "point"} for n in ("a", "b")]
    with pytest.raises(ValueError, match=r"b\.zarr holds other stimuli \(or another order\) than .*a\.zarr"):
        entries.open_replicates([job_entries], "euclidean", streamed=False)


def test_feature_sources_share_one_source_per_distinct_rdm(tmp_path):
    feats, labels = _features(60)
    pre = feats["a"]
    layout = store.NodeLayout(aliases={"copy": "post"}, derived={"post": ("pre", "relu")},
                              shapes={"pre": [30], "post": [30], "copy": [30]})
    path = str(tmp_path / "f.zarr")
    store.write_features_store(path, iter([(0, {"pre": pre}, layout)]), np.arange(60), labels, {"model": "m"}, 60)
    g = store.open_group(path)
    opened = {}
    got = pairstats.feature_sources(g, ["pre", "post", "copy"], "euclidean", opened)
    assert got[0] is not got[1] and got[1] is got[2] and len(opened) == 2
    assert got[1].op == "relu" and got[1].name == "m/relu(pre)"
    assert pairstats.feature_sources(g, ["copy"], "euclidean", opened)[0] is got[1]  # shared across calls
    with pytest.raises(ValueError, match="holds no features of node 'other'"):
        pairstats.feature_sources(g, ["other"], "euclidean")


# ---- the one core function: every route, resamples and replicates in one walk ---------------------------

def _entries_of(feats, labels, method, stored):
    """Path entries over RDMs made from features block by block (streamed) or whole (as cubes hold them)."""
    from repgeom import paths

    names = list(feats)
    rdms = ([pairstats.FeatureRDM(feats[k], method, k) for k in names] if not stored
            else [pairstats.StoredRDM(rdm.compute(feats[k], method)) for k in names])
    lab = pairstats.LabelsRDM(labels, 4, method) if not stored else rdm.labels_rdm(labels, 4, method)
    return [paths.Entry("m", "model", names, rdms), paths.Entry("labels", "labels", ["labels"], [lab], "point")]


@pytest.mark.parametrize("compare_method", ["cosine", "corr"])
def test_a_streamed_bootstrap_equals_the_bootstrap_of_stored_rdms(compare_method):
    """Resamples are weighted pair statistics, so they stream from features like the point estimate."""
    from repgeom import paths

    feats, labels = _features(96)
    got = paths.compute([_entries_of(feats, labels, "euclidean", False)], 96, compare_method, n_boot=25,
                        boot_seed=4, block=40)
    want = paths.compute([_entries_of(feats, labels, "euclidean", True)], 96, compare_method, n_boot=25,
                         boot_seed=4)
    assert np.array_equal(got.bootstrap["samples"], want.bootstrap["samples"])
    assert np.abs(got.bootstrap["similarity"] - want.bootstrap["similarity"]).max() <= 1e-6
    assert np.abs(got.paths[0].similarity - want.paths[0].similarity).max() <= 1e-6
    direct = compare.similarity([r for e in _entries_of(feats, labels, "euclidean", True) for r in e.rdms], 96,
                                compare_method, stim_index=want.bootstrap["samples"][7])
    assert np.abs(want.bootstrap["similarity"][7] - direct).max() <= 1e-12


def test_replicates_and_groups_come_from_one_walk_and_equal_their_own_paths():
    """Seeds of a family as replicates: each replicate's path and each group's similarities equal separate calls."""
    from repgeom import paths

    reps = []
    for seed in (0, 1, 2):
        feats, labels = _features(80, seed=seed)
        reps.append(_entries_of(feats, labels, "euclidean", False))
    shared = reps[0][1]  # the labels entry: one source for every replicate
    for rep in reps[1:]:
        rep[1] = shared
    groups = {("m", "a"): [rep[0].rdms[0] for rep in reps]}
    result = paths.compute(reps, 80, "cosine", groups=groups, block=30)
    assert result.distinct == 3 * 3 + 1
    for rep, p in zip(reps, result.paths):
        alone = paths.compute([rep], 80, "cosine", block=30).paths[0]
        assert np.abs(p.similarity - alone.similarity).max() <= 1e-12
        assert np.allclose(p.embedding, alone.embedding)
    want = compare.similarity(groups[("m", "a")], 80, "cosine", block=30)
    assert np.abs(result.groups[("m", "a")] - want).max() <= 1e-12


def test_nan_pairs_of_one_replicate_do_not_leave_out_pairs_of_another():
    """Constant patterns (NaN under correlation) in one seed: the other seeds keep every pair, as alone."""
    from repgeom import paths

    reps = []
    for seed in (0, 1):
        feats, labels = _features(60, seed=seed)
        if seed == 1:
            feats["a"][[5, 9]] = 1.0
        reps.append(_entries_of(feats, labels, "correlation", False))
    result = paths.compute(reps, 60, "cosine", block=25)
    for rep, p in zip(reps, result.paths):
        alone = paths.compute([rep], 60, "cosine", block=25).paths[0]
        assert np.array_equal(p.extra["nan_pairs"], alone.extra["nan_pairs"])
        assert np.abs(p.similarity - alone.similarity).max() <= 1e-12
    assert result.paths[0].extra["nan_pairs"].sum() == 0 and result.paths[1].extra["nan_pairs"][0] > 0

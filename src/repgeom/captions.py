"""What the report says of each figure: its caption (what it shows) and its numbers (read from the run's metrics).

One registry, ``CAPTIONS``: a section of the config (an analysis kind, ``rdms``, ``accuracy``) -> a
:class:`Caption`.  The words live here, with the report, not with the computations: an analysis kind
without an entry is shown with its description and no numbers; a new kind (in the package or in a user's
plug-in module) registers its caption here with ``CAPTIONS.register(section, Caption(...))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import intervals
from .registry import Registry

CAPTIONS = Registry("report caption")


@dataclass(frozen=True)
class Caption:
    """``text``: what the figure shows; ``numbers(record)``: its numbers in a sentence or two."""

    text: str
    numbers: Callable[[dict], str] = lambda record: ""


def caption_of(section: str, description: str = "") -> Caption:
    """The caption of a section's figures (its description, and no numbers, when none is registered)."""
    return CAPTIONS[section] if section in CAPTIONS else Caption(description)


CAPTIONS.register("rdms", Caption(
    "One RDM per layer, each divided by its maximum; stimuli grouped by class (tick labels), so light blocks on "
    "the diagonal mean that same-class images are represented alike."))
CAPTIONS.register("accuracy", Caption(
    "Accuracy of every model on every stimulus set of its label space (FGSM sets: images attacked against the "
    "named model), with Wilson 95 % intervals; a seeds family is one bar, its mean over seeds with their range; "
    "dotted: chance."))


def _paths_numbers(record):
    ci = record.get("intervals") or {}
    parts = []
    for m, pm in record["models"].items():
        if pm.get("kind") != "model":
            continue
        for t, per in pm["distance_to"].items():
            layers = list(per)
            first, last = layers[0], pm["last_layer"]
            last_ci = ci.get(m, {}).get("last_layer_distance_to", {}).get(t)
            parts.append(f"{m}: distance to {t} {first} {per[first]:.3f} → {last} {per[last]:.3f}"
                         + (f" [{last_ci['ci95'][0]:.3f}, {last_ci['ci95'][1]:.3f}]" if last_ci else ""))
        pl_ci = ci.get(m, {}).get("path_length")
        parts.append(f"{m}: path length {pm['path_length']:.2f}"
                     + (f" [{pl_ci['ci95'][0]:.2f}, {pl_ci['ci95'][1]:.2f}]" if pl_ci else "")
                     + (f", largest step {max(pm['step_lengths']):.3f} "
                        f"({pm['layers'][pm['step_lengths'].index(max(pm['step_lengths']))]} → "
                        f"{pm['layers'][pm['step_lengths'].index(max(pm['step_lengths'])) + 1]})"
                        if pm.get("step_lengths") else ""))
    for d in record.get("differences", []):
        lo, hi = d["ci95"]
        family = (f" (the {' and '.join(d['families'])} famil{'ies' if len(d['families']) > 1 else 'y'}: mean "
                  f"over {len(d['per_seed'])} seeds, t interval over stimuli x seeds)") if d.get("design") == "family" else ""
        parts.append(f"last layer to {d['target']}, {d['models'][0]} minus {d['models'][1]}{family}: "
                     f"{d['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}], "
                     f"{'excludes' if d['ci95_excludes_zero'] else 'includes'} 0"
                     + (f" (p = {d['p_value']:.3g}, FDR-adjusted {d['p_fdr']:.3g})" if "p_fdr" in d else ""))
    for pair in record.get("model_pairs", []):
        parts.append(f"paths of {pair['models'][0]} and {pair['models'][1]}: Procrustes disparity "
                     f"{pair['procrustes_disparity']:.3f}, mean distance of corresponding layers "
                     f"{pair['mean_layer_distance']:.3f}")
    for fam, res in (record.get("across_seeds") or {}).items():
        for t, v in res["last_layer_distance_to"].items():
            parts.append(f"{fam} across {len(v['per_seed'])} seeds: last layer to {t} {v['mean']:.3f} "
                         f"[{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]"
                         + (" (stimuli x seeds)" if v.get("interval") else " (these stimuli; seeds as subjects)"))
        for other, per in res.get("layer_distance_to", {}).items():
            last = list(per)[-1]
            spread = (record.get("seed_spread") or {}).get(fam, {}).get(last, {}).get("mean")
            parts.append(f"{fam} vs {other} at {last}: {per[last]['mean']:.3f} across seeds"
                         + (f", against {spread:.3f} between the seeds themselves" if spread is not None else ""))
    boot = record.get("bootstrap")
    tail = ""
    if boot:
        kind = intervals.NAMES.get(boot.get("interval"), "")
        tail = (f" Brackets: 95 % {kind + ' ' if kind else ''}intervals over {boot['n']} stimulus resamples"
                + (" drawn within each class" if boot.get("stratified") else "") + ".")
    design = record.get("design")
    if design and design["same_class_pairs"]:
        tail += (f" Distances to the labels weigh same-class pairs at their share in this set "
                 f"({design['same_class_pairs']:,} of {design['pairs']:,} pairs), so they compare across sets of "
                 f"the same class counts only.")
    return "; ".join(parts) + "." + tail


CAPTIONS.register("paths", Caption(
    ("Left: distance between every pair of RDMs in the path. Right: the 2-D metric MDS of that "
     "matrix; each model is a line through its layers, the input a black square, the labels a "
     "magenta star, reference RDMs their own markers."),
    _paths_numbers))


def _path_comparisons_numbers(record):
    text = (f"Procrustes disparity {record['procrustes_disparity']:.4f}; the distance matrices correlate "
            f"r = {record['distance_matrix_correlation']:.3f}.")
    if "disparity_bootstrap" in record:
        b = record["disparity_bootstrap"]
        text += (f" Between resamples of the two paths the disparity is {b['median']:.4f} "
                 f"[{b['ci95'][0]:.4f}, {b['ci95'][1]:.4f}]; the observed one lies at the "
                 f"{record['disparity_percentile_in_other_self']:.0f}th percentile of {record['other']}'s own "
                 f"resampling disparity and the {record['disparity_percentile_in_reference_self']:.0f}th of "
                 f"{record['reference']}'s.")
    return text


CAPTIONS.register("path_comparisons", Caption(
    ("The two paths after orthogonal Procrustes alignment (MDS orientation is arbitrary); the title "
     "gives their disparity (0 = the same shape)."),
    _path_comparisons_numbers))


def _dimreduction_numbers(record):
    parts = []
    for method, per in record["silhouette"].items():
        layers = list(per)
        parts.append(f"{method}: silhouette of the classes {layers[0]} {per[layers[0]]:.2f} → "
                     f"{layers[-1]} {per[layers[-1]]:.2f}")
    return "; ".join(parts) + " (1 = tight, separate classes; 0 = overlapping)."


CAPTIONS.register("dimreduction", Caption(
    ("2-D views of each layer's representation (rows: methods, columns: layers), one point per "
     "stimulus coloured by class."),
    _dimreduction_numbers))


def _fgsm_sweeps_numbers(record):
    parts = []
    for attacked, res in record["attacks"].items():
        own = res["accuracy"].get(attacked, {})
        if own:
            seq = ", ".join(f"{e} {v['accuracy']:.2f}" for e, v in own.items())
            parts.append(f"{attacked} against its own FGSM, by eps: {seq}")
    return "; ".join(parts) + "."


CAPTIONS.register("fgsm_sweeps", Caption(
    ("Accuracy against the size of the FGSM perturbation (eps 0: the clean images), one panel per "
     "attacked model: its own accuracy bold (a white-box attack), every other model's thin (a transfer "
     "attack); bands are Wilson 95 % intervals."),
    _fgsm_sweeps_numbers))


def _montages_numbers(record):
    counts = record["per_class_counts"]
    return (f"{record['n_stimuli']} stimuli in {len(counts)} classes "
            f"({min(counts.values())}–{max(counts.values())} per class).")


CAPTIONS.register("montages", Caption(
    "The images of the stimulus set, the first few of each class (one row per class).",
    _montages_numbers))


def _profiles_numbers(record):
    parts = []
    for path, per in record["profiles"].items():
        layers = list(per)
        mid = max(layers, key=lambda la: per[la])
        parts.append(f"{path} ({record['measures'][path]}): {layers[0]} {per[layers[0]]:.3f}, farthest {mid} "
                     f"{per[mid]:.3f}, {layers[-1]} {per[layers[-1]]:.3f}")
    return "; ".join(parts) + "."


CAPTIONS.register("profiles", Caption(
    ("The distance of each layer's RDM to the labels' under each path's measure: whether hidden layers "
     "approach or leave the labels depends on how RDMs are computed and compared."),
    _profiles_numbers))


def _reference_fit_numbers(record):
    best, ceiling = record["best"], record["ceiling"]
    fit = record["fits"][best["model"]][best["layer"]]

    def bracket(v):
        return f" [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]" if "ci95" in v else ""

    text = (f"Closest to {record['reference']}: {best['model']} {best['layer']}, {record['compare']} "
            f"{best['fit']:.3f}{bracket(fit)}; noise ceiling {ceiling['lower']['value']:.3f}{bracket(ceiling['lower'])}"
            f" to {ceiling['upper']['value']:.3f}{bracket(ceiling['upper'])} ({len(record['subjects'])} RDMs of "
            f"{record.get('n_subjects', len(record['subjects']))} subjects).")
    tests = record.get("tests") or []
    if tests:
        nxt = tests[0]
        gap = record["best_vs_lower_ceiling"]
        text += (f" Against the next layer ({nxt['other'][0]} {nxt['other'][1]}): {nxt['difference']:+.3f}"
                 f"{bracket(nxt)}, p = {nxt['p_value']:.3g} (FDR-adjusted over {len(tests)} layers: "
                 f"{nxt['p_fdr']:.3g}); {sum(t['fdr_below_0.05'] for t in tests)} of {len(tests)} layers fit "
                 f"significantly worse. Best minus the lower ceiling: {gap['difference']:+.3f}{bracket(gap)} "
                 f"({'within' if gap['ci95'][1] >= 0 else 'below'} the ceiling). ")
    boot = record.get("bootstrap") or {}
    drawn = " drawn within each class" if boot.get("stratified") else ""
    if boot.get("resampled") == "stimuli and subjects":
        text += (f"Brackets: 95 % t intervals (Welch-Satterthwaite df, {fit['dof']:.0f} for the best layer) on the "
                 f"variance of a bootstrap over "
                 f"{boot['n']} resamples of stimuli{drawn} and of the {record['n_subjects']} subjects (Schütt et "
                 f"al. 2023's correction): they generalise to new stimuli and new subjects; p-values: t-tests on "
                 f"the same variance; the ceiling's brackets are over stimuli only (these subjects).")
    elif boot:
        text += (f"Brackets: 95 % {intervals.NAMES.get(boot['interval'], '')} intervals over {boot['n']} stimulus "
                 f"resamples{drawn}; the subjects are these subjects (not resampled).")
    return text


CAPTIONS.register("reference_fits", Caption(
    ("Each layer's RDM compared with every subject's RDM of the reference, averaged (rsatoolbox's "
     "eval_fixed); the grey band is the noise ceiling (lower: each subject against the others' pooled RDM; "
     "upper: against all subjects'), the star the best layer; hollow markers fit significantly worse than it."),
    _reference_fit_numbers))

"""Figures a reader can take in: the tutorial's plots, from stored artifacts, with titles, labels and legends."""

import numpy as np

from .registry import Registry

# Each analysis section's figure, drawn from its store and display settings: here, beside the drawing code, so
# an analysis' compute job never imports this module (a figure edit reruns figure jobs only).
FIGURES = Registry("analysis figure")

DEFAULT_COLORS = ["tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:cyan", "tab:olive"]


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# The colour scale of every path's distance matrix, per similarity-to-distance transform: fixed, so colours
# mean the same in every figure (1 - s of a non-negative similarity lies in [0, 1]; its angle in [0, pi/2]).
DISTANCE_SCALE = {"one_minus": 1.0, "arccos": float(np.pi / 2)}

REFERENCE_COLORS = ["tab:red", "tab:brown", "tab:pink", "tab:gray", "darkred", "indigo"]
REFERENCE_MARKERS = ["D", "^", "v", "P", "X", "h"]


def entry_styles(path, display=None):
    """{entry name: (label, colour, marker)} for every entry of a path store; ``display`` from the config."""
    display = display or {}
    styles, m, r = {}, 0, 0
    names = list(dict.fromkeys(path.model.values))
    kinds = dict(zip(path.model.values, path.entry_kind.values)) if "entry_kind" in path.coords else {}
    for name in names:
        kind = kinds.get(name, "labels" if name == "labels" else "model")
        d = display.get(name) or {}
        if kind == "labels":
            styles[name] = ("labels", "m", "*")
        elif kind == "model":
            styles[name] = (d.get("label") or name, d.get("color") or DEFAULT_COLORS[m % len(DEFAULT_COLORS)], ".",
                            d.get("linestyle", "-"))
            m += 1
        else:
            styles[name] = (d.get("label") or name, d.get("color") or REFERENCE_COLORS[r % len(REFERENCE_COLORS)],
                            d.get("marker") or REFERENCE_MARKERS[r % len(REFERENCE_MARKERS)])
            r += 1
    return styles, kinds


def path_figure(path, display=None, title=None):
    """The tutorial's rep_path figure from a path store (xarray Dataset): distance matrix + 2-D path.

    Models are lines through their layers (input: black square), the labels a magenta star, every
    reference RDM its own marker and colour.
    """
    plt = _mpl()
    styles, kinds = entry_styles(path, display)
    shown = path.shown.values
    layer = path.layer.values
    model = path.model.values
    dist = path.distance.values[np.ix_(shown, shown)]
    ticks, tick_colors = [], []
    for lay, mm in zip(layer[shown], model[shown]):
        label, color = styles[mm][:2]
        point = kinds.get(mm, "model") != "model"
        ticks.append(label if point else lay)
        tick_colors.append("k" if (lay == "input" and not point) else color)
    n = len(ticks)
    side = max(6.0, 0.19 * n + 2.5)  # ticks stay legible (8 pt) for the largest matrices
    fig, (ax_m, ax_p) = plt.subplots(1, 2, figsize=(side + 7, side), gridspec_kw={"width_ratios": [1.1, 1]})
    vmax = DISTANCE_SCALE.get(path.attrs["distance"])  # one colour scale per measure, shared by every figure
    im = ax_m.imshow(dist, cmap="viridis_r", vmin=0, vmax=vmax)
    ax_m.set_xticks(np.arange(n), labels=ticks, fontsize=8, rotation=90)
    ax_m.set_yticks(np.arange(n), labels=ticks, fontsize=8)
    for t, c in zip(ax_m.get_xticklabels(), tick_colors):
        t.set_color(c)
    for t, c in zip(ax_m.get_yticklabels(), tick_colors):
        t.set_color(c)
    cb = fig.colorbar(im, ax=ax_m, fraction=0.046, pad=0.04)
    cb.set_label(f"{path.attrs['distance']} distance between RDMs")
    ax_m.set_title("Dissimilarity between RDMs")
    emb = path.embedding.values
    models = [n_ for n_ in styles if kinds.get(n_, "model") == "model" and n_ != "labels"]
    for name in models:
        label, color, _, linestyle = styles[name]
        idx = np.flatnonzero(model == name)
        ax_p.plot(emb[idx, 0], emb[idx, 1], color=color, marker=".", label=label, ls=linestyle)
    first_input = np.flatnonzero((layer == "input") & np.isin(model, models))
    if len(first_input):
        ax_p.plot(*emb[first_input[0]], color="k", marker="s", linestyle="none", markersize=9, label="input")
    for name, (label, color, marker, *_) in styles.items():
        if name in models:
            continue
        k = np.flatnonzero(model == name)[0]
        ax_p.plot(*emb[k], color=color, marker=marker, linestyle="none", markersize=14 if marker == "*" else 10,
                  markeredgecolor="k" if marker != "*" else color, label=label)
    extra = ""
    if "embedding_replicates" in path:  # seeds as subjects: every other seed's path, aligned onto the first
        reps = path.embedding_replicates.values
        for name in models:
            if name not in set(path.attrs.get("families") or []):
                continue
            idx = np.flatnonzero(model == name)
            for r in range(1, len(reps)):
                ax_p.plot(reps[r][idx, 0], reps[r][idx, 1], color=styles[name][1], lw=0.8, alpha=0.5, ls="--")
        extra = f"; dashed: the other {len(reps) - 1} seeds"
    if "embedding_bootstrap" in path:  # 68 % / 95 % regions of each entry over stimulus resamples
        boot = path.embedding_bootstrap.values
        for k in np.flatnonzero(shown):
            color = "k" if layer[k] == "input" else styles[model[k]][1]
            for chi2, alpha in ((5.991, 0.10), (2.296, 0.22)):
                _ellipse(ax_p, boot[:, k], chi2, color, alpha)
        extra += f"; shaded: 68 % / 95 % regions over {len(boot)} stimulus resamples"
    lo, hi = emb.min(), emb.max()
    mid, half = (lo + hi) / 2, (hi - lo) * 5 / 8
    ax_p.set_xlim(mid - half, mid + half)
    ax_p.set_ylim(mid - half, mid + half)
    ax_p.set_aspect("equal")
    ax_p.set_xlabel("MDS dim 1")
    ax_p.set_ylabel("MDS dim 2")
    ax_p.set_title("Representational geometry path" + (f"\n{extra.lstrip('; ')}" if extra else ""),
                   fontsize=10 if extra else None)
    ax_p.legend(fontsize=9, loc="best")
    diffs = ""
    for d in path.attrs.get("differences") or []:  # paired bootstrap differences of the last layers
        a, b = (styles.get(m, (m,))[0] for m in d["models"])
        lo, hi = d["ci95"]
        diffs += (f"\nlast layer to labels, {a} minus {b}: {d['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}] "
                  f"({'excludes' if d['ci95_excludes_zero'] else 'includes'} 0)")
    fig.suptitle(title or f"{path.attrs['analysis']}: {' vs '.join(styles[m][0] for m in models)}\n"
                 f"stimuli {path.attrs['stimulus_set']} (N={path.attrs['n_stimuli']}); "
                 f"{path.attrs['rdm_method']} RDMs, "
                 f"{path.attrs['compare']} comparison, {path.attrs['distance']} distance" + diffs, fontsize=11)
    fig.tight_layout()
    return fig


def _ellipse(ax, points, chi2, color, alpha):
    """The region holding a fraction of 2-D ``points`` under a normal approximation (chi2: its 2-dof quantile)."""
    from matplotlib.patches import Ellipse

    pts = np.asarray(points, dtype=float)
    if len(pts) < 3:
        return
    cov = np.cov(pts.T)
    vals, vecs = np.linalg.eigh(cov)
    vals = np.clip(vals, 0, None)
    angle = np.degrees(np.arctan2(vecs[1, -1], vecs[0, -1]))
    w, h = 2 * np.sqrt(chi2 * vals[::-1])
    ax.add_patch(Ellipse(pts.mean(0), w, h, angle=angle, facecolor=color, edgecolor="none", alpha=alpha, zorder=0))


def _class_ticks(ax, labels, classes=None):
    """Ticks at the middle of each class block (stimuli grouped by class), labelled by class name."""
    labels = np.asarray(labels)
    changes = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], changes])
    ends = np.concatenate([changes, [len(labels)]])
    if len(starts) > 12:  # not grouped by class: no block ticks
        ax.set_xticks([])
        ax.set_yticks([])
        return
    mids = (starts + ends - 1) / 2
    names = [str(classes[labels[s]]) if classes is not None else str(labels[s]) for s in starts]
    ax.set_xticks(mids, labels=names, fontsize=7, rotation=90 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(mids, labels=names, fontsize=7)
    ax.tick_params(length=0)


def rdm_panels(cube, layers, separability=None, title=None, display=None):
    """The tutorial's plot_rdms: one RDM per layer, each divided by its maximum, one shared colour bar.

    ``cube`` is a :class:`repgeom.cubes.Cube` (only the shown layers are read); the separability per
    layer comes from the cube unless given.
    """
    separability = separability if separability is not None else cube.separability
    plt = _mpl()
    k = len(layers)
    fig, axes = plt.subplots(1, k, figsize=(2.6 * k + 1.2, 3.4), squeeze=False)
    labels = cube.labels
    im = None
    for ax, layer in zip(axes[0], layers):
        D = cube.matrix(layer)
        peak = np.nanmax(D)
        im = ax.imshow(D / peak if peak > 0 else D, cmap="magma_r", vmin=0, vmax=1, interpolation="nearest")
        sub = f"{layer}" + (f"\nseparability {separability[layer]:.2f}" if separability else "")
        ax.set_title(sub, fontsize=10)
        _class_ticks(ax, labels, cube.attrs.get("classes"))
    cb = fig.colorbar(im, ax=axes[0].tolist(), fraction=0.025, pad=0.02)
    cb.set_label(f"normalised {cube.attrs['method']} distance", fontsize=9)
    eps = cube.attrs.get("eps") or 0
    what = f"FGSM eps {eps:g} against {cube.attrs.get('attacked_model')}" if eps else "clean images"
    name = (display or {}).get("label") or cube.attrs["model"]
    fig.suptitle(title or f"RDMs of {name} on {cube.attrs['stimulus_set']} ({what}, "
                 f"N={len(cube.ids)}); stimuli grouped by class", fontsize=11)
    return fig


def dimreduction_grid(ds, title=None):
    """The tutorial's plot_dim_reduction: rows = methods, columns = layers, points coloured by digit.

    Digits get the categorical tab10 palette rather than the tutorial's viridis_r, whose neighbouring
    shades (5/6, 7/8/9) are hard to tell apart in print.
    """
    import matplotlib as mpl

    plt = _mpl()
    methods, layers = list(ds.reduction.values), list(ds.layer.values)
    fig, axes = plt.subplots(len(methods), len(layers), figsize=(2.5 * len(layers) + 1.3, 2.5 * len(methods) + 0.7),
                             squeeze=False, layout="constrained")
    labels = ds.label.values
    classes = list(ds.attrs.get("classes") or [str(c) for c in range(int(labels.max()) + 1)])
    k = len(classes)
    cmap = plt.get_cmap("tab10" if k <= 10 else "tab20", k)
    norm = mpl.colors.BoundaryNorm(np.arange(-0.5, k), cmap.N)
    sc = None
    for r, method in enumerate(methods):
        for c, layer in enumerate(layers):
            ax = axes[r, c]
            xy = ds.embedding.sel(reduction=method, layer=layer).values
            sc = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap=cmap, norm=norm, s=6, linewidths=0)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal", adjustable="datalim")
            if r == 0:
                ax.set_title(layer, fontsize=11)
            if c == 0:
                ax.set_ylabel(method, fontsize=11)
    cb = fig.colorbar(sc, ax=axes.ravel().tolist(), ticks=np.arange(k), fraction=0.02, pad=0.01, aspect=30)
    cb.ax.set_yticklabels(classes, fontsize=7)
    cb.set_label("class", fontsize=9)
    analysis = ds.attrs.get("analysis")
    fig.suptitle(title or f"{analysis + ': ' if analysis else ''}{ds.attrs['model']} on {ds.attrs['stimulus_set']} "
                 f"(N={ds.sizes['stim']})", fontsize=11)
    return fig


def accuracy_chart(table, display=None):
    """Bar chart of every model's accuracy on every stimulus set (clean and FGSM), from accuracy.csv rows.

    A model's bar carries its Wilson 95 % interval; the members of a seeds family (``display[m]["family"]``)
    are one bar: their mean accuracy, with the range over seeds as its error bar.
    """
    plt = _mpl()
    display = display or {}
    sets = list(dict.fromkeys(table["stimulus_set"]))
    groups = {}  # bar -> its models: a model alone, or a family's members
    for m in dict.fromkeys(table["model"]):
        groups.setdefault((display.get(m) or {}).get("family") or m, []).append(m)
    fig, ax = plt.subplots(figsize=(min(14, max(6, 0.3 * len(sets) * len(groups) + 2)), 4.6))
    width = 0.8 / len(groups)
    for k, (bar, members) in enumerate(groups.items()):
        d = display.get(members[0]) or {}
        x = np.arange(len(sets)) + (k - (len(groups) - 1) / 2) * width
        acc = np.array([[table[(table.model == m) & (table.stimulus_set == s)].accuracy.mean() for s in sets]
                        for m in members])  # NaN where a model has no row for a set
        if len(members) > 1:
            vals, lo, hi = np.nanmean(acc, 0), np.nanmin(acc, 0), np.nanmax(acc, 0)
            label = f"{d.get('family_label') or bar} ({len(members)} seeds: mean, range)"
        else:
            rows = table[table["model"] == bar].set_index("stimulus_set")
            vals = acc[0]
            label = d.get("label") or bar
            if "ci95_low" in rows.columns:  # Wilson 95 % intervals
                lo = np.array([rows.loc[s, "ci95_low"] if s in rows.index else np.nan for s in sets])
                hi = np.array([rows.loc[s, "ci95_high"] if s in rows.index else np.nan for s in sets])
            else:
                lo = hi = None
        ax.bar(x, vals, width, label=label, color=d.get("color") or DEFAULT_COLORS[k % len(DEFAULT_COLORS)])
        if lo is not None:
            ax.errorbar(x, vals, yerr=[vals - lo, hi - vals], fmt="none", ecolor="k", elinewidth=0.8,
                        capsize=min(2.0, 40 * width))
    ax.set_xticks(np.arange(len(sets)), labels=sets, rotation=30, ha="right", fontsize=9)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
    ax.axhline(0.1, color="grey", lw=0.8, ls=":")
    ax.set_title("Accuracy of every model on every stimulus set, with Wilson 95 % intervals (a seeds family: mean "
                 "over seeds, their range)\n(fgsm_X: images attacked against model X; dotted: chance)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="model")
    fig.tight_layout()
    return fig


def aligned_paths_figure(store, display=None):
    """Two paths over the same entries (a path-comparison store), the second Procrustes-aligned onto the first."""
    plt = _mpl()
    styles, kinds = entry_styles(store, display)
    fig, ax = plt.subplots(figsize=(6.5, 6))
    model, layer = store.model.values, store.layer.values
    roles = (("reference", "-", store.attrs["reference"], store.attrs["n_stimuli_reference"]),
             ("other", "--", store.attrs["other"], store.attrs["n_stimuli_other"]))
    for var, style, name, n in roles:
        emb = store[var].values
        for m, (label, color, marker, *_) in styles.items():
            idx = np.flatnonzero(model == m)
            if kinds.get(m, "model") == "model":
                ax.plot(emb[idx, 0], emb[idx, 1], style, color=color, marker=".", label=f"{label}: {name} (N={n})")
            else:
                ax.plot(*emb[idx[0]], color=color, marker=marker, linestyle="none",
                        markersize=13 if marker == "*" else 9, fillstyle="full" if style == "-" else "none")
        first_input = np.flatnonzero(layer == "input")
        if len(first_input):
            ax.plot(*emb[first_input[0]], "ks", markersize=8, fillstyle="full" if style == "-" else "none")
    ax.set_aspect("equal")
    ax.set_xlabel("MDS dim 1")
    ax.set_ylabel("MDS dim 2")
    ax.legend(fontsize=8)
    ax.set_title(f"Paths aligned by Procrustes (disparity {store.attrs['procrustes_disparity']:.3f});\n"
                 f"solid: {store.attrs['reference']}, dashed: {store.attrs['other']}; black square: input, "
                 f"magenta star: labels", fontsize=10)
    fig.tight_layout()
    return fig


def montage(store):
    """The seed's ``sample_images(..., plot=True)``: a few images of each class, one row per class."""
    plt = _mpl()
    classes = list(store.attrs["classes"])
    labels, images = store.label.values, store.images.values
    per = int(store.attrs["per_class"])
    fig, axes = plt.subplots(len(classes), per, figsize=(1.1 * per + 1.2, 1.1 * len(classes) + 0.6), squeeze=False)
    for r, _ in enumerate(classes):
        idx = np.flatnonzero(labels == r)
        for c in range(per):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if c < len(idx):
                img = images[idx[c]]
                ax.imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0), cmap="gray", vmin=0, vmax=1)
        axes[r, 0].set_ylabel(classes[r], rotation=0, ha="right", va="center", fontsize=10)
    fig.suptitle(f"{store.attrs['stimulus_set']}: the first {per} images of each class "
                 f"({store.attrs['n_stimuli']} stimuli)", fontsize=11)
    fig.tight_layout()
    return fig


def fgsm_sweep(store, display=None):
    """Accuracy against FGSM eps: one panel per attacked model; its own model bold, transfer attacks thin."""
    plt = _mpl()
    display = display or {}
    attacked, models, eps = list(store.attacked.values), list(store.model.values), store.eps.values
    fig, axes = plt.subplots(1, len(attacked), figsize=(4.2 * len(attacked) + 1.5, 4.2), squeeze=False, sharey=True)
    for a, (ax, target) in enumerate(zip(axes[0], attacked)):
        for k, m in enumerate(models):
            d = display.get(m) or {}
            acc = store.accuracy.values[a, k]
            if np.isnan(acc).all():
                continue
            own = m == target
            color = d.get("color") or DEFAULT_COLORS[k % len(DEFAULT_COLORS)]
            ax.plot(eps, acc, marker="o" if own else ".", lw=2.4 if own else 1.0, color=color, alpha=1 if own else 0.8)
            ax.fill_between(eps, store.ci95_low.values[a, k], store.ci95_high.values[a, k], color=color,
                            alpha=0.15 if own else 0.06, linewidth=0)
        ax.set_title(f"FGSM images made against {(display.get(target) or {}).get('label') or target}", fontsize=10)
        ax.set_xlabel("eps (pixel units)")
        ax.axhline(0.1, color="grey", lw=0.8, ls=":")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("accuracy (Wilson 95 % band)")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=(display.get(m) or {}).get("color") or DEFAULT_COLORS[k % len(DEFAULT_COLORS)],
                      marker=".", label=(display.get(m) or {}).get("label") or m) for k, m in enumerate(models)]
    handles.append(Line2D([], [], color="k", lw=2.4, marker="o", label="bold: the attacked model itself"))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    fig.suptitle("Accuracy against the size of the attack (dotted: chance)", fontsize=11)
    fig.tight_layout()
    return fig


def profile(store, display=None):
    """A model's distance to a point entry per layer, one curve per path (each its own measure)."""
    plt = _mpl()
    name = ((display or {}).get("model") or {}).get("label") or store.attrs["model"]
    layers = list(store.layer.values)
    fig, ax = plt.subplots(figsize=(max(6.5, 0.55 * len(layers) + 2), 4.3))
    for k, path in enumerate(store.path.values):
        values = store.distance.values[k]
        ax.plot(np.arange(len(layers)), values, marker="o", label=f"{path}: {store.attrs['measures'][path]}",
                color=DEFAULT_COLORS[k % len(DEFAULT_COLORS)])
    ax.set_xticks(np.arange(len(layers)), labels=layers, rotation=45, ha="right", fontsize=9)
    ax.set_ylabel(f"distance to {store.attrs['target']}")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(f"{name}: distance of each layer's RDM to the {store.attrs['target']} RDM, under each path's measure",
                 fontsize=10)
    fig.tight_layout()
    return fig


def reference_fit(store, display=None):
    """Each layer's fit to a multi-subject reference (rsatoolbox's model-comparison style): one panel per
    model, its layers in network order, 95 % intervals over stimulus resamples, the noise ceiling as a grey
    band (lower to upper bound), the best layer starred, and every layer whose fit is not significantly below
    the best's (Benjamini-Hochberg, 0.05) filled; the others hollow."""
    plt = _mpl()
    display = display or {}
    attrs = store.attrs
    ref = (display.get("reference") or {}).get("label") or attrs["reference"]
    models = list(dict.fromkeys(store.model.values))
    fit = store.fit.values
    if "fit_ci95" in store:  # the intervals the metrics and the caption give
        lo, hi = store.fit_ci95.values.T
    else:
        lo = hi = fit
    worse = {(t["other"][0], t["other"][1]) for t in attrs.get("tests", []) if t.get("fdr_below_0.05")}
    lower, upper = store.ceiling.values
    widths = [max(2.5, 0.42 * int(np.sum(store.model.values == m)) + 1.0) for m in models]
    fig, axes = plt.subplots(1, len(models), figsize=(sum(widths) + 0.8, 4.4), sharey=True,
                             gridspec_kw={"width_ratios": widths}, squeeze=False)
    best = (attrs["best"]["model"], attrs["best"]["layer"])
    for k, (ax, m) in enumerate(zip(axes[0], models)):
        rows = np.flatnonzero(store.model.values == m)
        layers = [str(v) for v in store.layer.values[rows]]
        style = (display.get("models") or {}).get(m) or {}
        color = style.get("color") or DEFAULT_COLORS[k % len(DEFAULT_COLORS)]
        x = np.arange(len(rows))
        ax.axhspan(lower, upper, color="0.85", zorder=0, label="noise ceiling" if k == 0 else None)
        ax.errorbar(x, fit[rows], yerr=[fit[rows] - lo[rows], hi[rows] - fit[rows]], fmt="none", ecolor=color,
                    elinewidth=1.2, capsize=2, zorder=2)
        for xi, r, layer in zip(x, rows, layers):
            filled = (m, layer) not in worse
            ax.plot(xi, fit[r], "o", color=color, markerfacecolor=color if filled else "white", zorder=3)
            if (m, layer) == best:
                ax.annotate("*", (xi, hi[r]), ha="center", va="bottom", fontsize=14)
        ax.set_xticks(x, labels=layers, rotation=60, ha="right", fontsize=8)
        ax.set_title(style.get("label") or m, fontsize=10)
        ax.axhline(0, color="0.5", lw=0.6)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(f"{attrs['compare']} with each subject's RDM (mean of {len(store.subject)})")
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.suptitle(f"{attrs['analysis']}: fit of each layer to {ref} ({attrs['stimulus_set']}, N={attrs['n_stimuli']}); "
                 "* best; hollow: below the best (FDR 0.05)", fontsize=10)
    fig.tight_layout()
    return fig


FIGURES.register("paths", path_figure)
FIGURES.register("path_comparisons", aligned_paths_figure)
FIGURES.register("dimreduction", lambda store, display: dimreduction_grid(store))
FIGURES.register("montages", lambda store, display: montage(store))
FIGURES.register("fgsm_sweeps", fgsm_sweep)
FIGURES.register("profiles", profile)
FIGURES.register("reference_fits", reference_fit)

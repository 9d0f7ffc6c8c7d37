"""Figures a reader can take in: the tutorial's plots, from stored artifacts, with titles, labels and legends."""

import numpy as np

DEFAULT_COLORS = ["tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:cyan", "tab:olive"]


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
            styles[name] = (d.get("label") or name, d.get("color") or DEFAULT_COLORS[m % len(DEFAULT_COLORS)], ".")
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
        label, color, _ = styles[mm]
        point = kinds.get(mm, "model") != "model"
        ticks.append(label if point else lay)
        tick_colors.append("k" if (lay == "input" and not point) else color)
    n = len(ticks)
    fig, (ax_m, ax_p) = plt.subplots(1, 2, figsize=(13, 6), gridspec_kw={"width_ratios": [1.1, 1]})
    im = ax_m.imshow(dist, cmap="viridis_r")
    ax_m.set_xticks(np.arange(n), labels=ticks, fontsize=max(5, 9 - n // 10), rotation=90)
    ax_m.set_yticks(np.arange(n), labels=ticks, fontsize=max(5, 9 - n // 10))
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
        label, color, _ = styles[name]
        idx = np.flatnonzero(model == name)
        ax_p.plot(emb[idx, 0], emb[idx, 1], color=color, marker=".", label=label)
    first_input = np.flatnonzero((layer == "input") & np.isin(model, models))
    if len(first_input):
        ax_p.plot(*emb[first_input[0]], color="k", marker="s", linestyle="none", markersize=9, label="input")
    for name, (label, color, marker) in styles.items():
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
    """Bar chart of every model's accuracy on every stimulus set (clean and FGSM), from accuracy.csv rows."""
    plt = _mpl()
    sets = list(dict.fromkeys(table["stimulus_set"]))
    models = list(dict.fromkeys(table["model"]))
    fig, ax = plt.subplots(figsize=(min(12, max(6, 0.35 * len(sets) * len(models) + 2)), 4.6))
    width = 0.8 / len(models)
    for k, m in enumerate(models):
        rows = table[table["model"] == m].set_index("stimulus_set")
        vals = [rows.loc[s, "accuracy"] if s in rows.index else np.nan for s in sets]
        d = (display or {}).get(m) or {}
        x = np.arange(len(sets)) + (k - (len(models) - 1) / 2) * width
        ax.bar(x, vals, width, label=d.get("label") or m, color=d.get("color") or DEFAULT_COLORS[k % len(DEFAULT_COLORS)])
        if "ci95_low" in rows.columns:  # Wilson 95 % intervals
            lo = np.array([rows.loc[s, "ci95_low"] if s in rows.index else np.nan for s in sets])
            hi = np.array([rows.loc[s, "ci95_high"] if s in rows.index else np.nan for s in sets])
            ax.errorbar(x, vals, yerr=[np.array(vals) - lo, hi - np.array(vals)], fmt="none", ecolor="k",
                        elinewidth=0.8, capsize=2)
    ax.set_xticks(np.arange(len(sets)), labels=sets, rotation=30, ha="right", fontsize=9)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
    ax.axhline(0.1, color="grey", lw=0.8, ls=":")
    ax.set_title("Accuracy of every model on every stimulus set, with Wilson 95 % intervals\n"
                 "(fgsm_X: images attacked against model X; dotted: chance)", fontsize=10)
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
        for m, (label, color, marker) in styles.items():
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

"""Figures a reader can take in: the tutorial's plots, from stored artifacts, with titles, labels and legends."""

import numpy as np

DEFAULT_COLORS = ["tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:cyan", "tab:olive"]


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def path_figure(path, title=None):
    """The tutorial's rep_path figure from a path store (xarray Dataset): distance matrix + 2-D path."""
    plt = _mpl()
    models = list(path.attrs["models"])
    colors = {m: (path.attrs.get("model_colors") or {}).get(m) or DEFAULT_COLORS[k % len(DEFAULT_COLORS)]
              for k, m in enumerate(models)}
    names = {m: (path.attrs.get("model_labels") or {}).get(m) or m for m in models}
    shown = path.shown.values
    layer = path.layer.values
    model = path.model.values
    dist = path.distance.values[np.ix_(shown, shown)]
    ticks = layer[shown]
    tick_colors = ["k" if t == "input" else ("m" if mm == "labels" else colors[mm])
                   for t, mm in zip(ticks, model[shown])]
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
    cb.set_label(f"{path.attrs['distance']} distance between layer RDMs")
    ax_m.set_title("Dissimilarity between layer RDMs")
    emb = path.embedding.values
    for m in models:
        idx = np.flatnonzero(model == m)
        ax_p.plot(emb[idx, 0], emb[idx, 1], color=colors[m], marker=".", label=names[m])
    first_input = np.flatnonzero(layer == "input")
    if len(first_input):
        ax_p.plot(*emb[first_input[0]], color="k", marker="s", linestyle="none", markersize=9, label="input")
    if "labels" in set(model):
        ax_p.plot(*emb[np.flatnonzero(model == "labels")[0]], color="m", marker="*", linestyle="none",
                  markersize=14, label="labels")
    lo, hi = emb.min(), emb.max()
    mid, half = (lo + hi) / 2, (hi - lo) * 5 / 8
    ax_p.set_xlim(mid - half, mid + half)
    ax_p.set_ylim(mid - half, mid + half)
    ax_p.set_aspect("equal")
    ax_p.set_xlabel("MDS dim 1")
    ax_p.set_ylabel("MDS dim 2")
    ax_p.set_title("Representational geometry path")
    ax_p.legend(fontsize=9, loc="best")
    fig.suptitle(title or f"{path.attrs['analysis']}: {' vs '.join(names[m] for m in models)}\n"
                 f"stimuli {path.attrs['stimulus_set']} (N={path.attrs['n_stimuli']}); "
                 f"{path.attrs['rdm_method']} RDMs, "
                 f"{path.attrs['compare']} comparison, {path.attrs['distance']} distance", fontsize=11)
    fig.tight_layout()
    return fig


def _class_ticks(ax, labels):
    """Ticks at the middle of each class block (stimuli grouped by class), labelled by digit."""
    labels = np.asarray(labels)
    changes = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], changes])
    ends = np.concatenate([changes, [len(labels)]])
    if len(starts) > 12:  # not grouped by class: no block ticks
        ax.set_xticks([])
        ax.set_yticks([])
        return
    mids = (starts + ends - 1) / 2
    ax.set_xticks(mids, labels=[str(labels[s]) for s in starts], fontsize=7)
    ax.set_yticks(mids, labels=[str(labels[s]) for s in starts], fontsize=7)
    ax.tick_params(length=0)


def rdm_panels(cube, layers, separability=None, title=None):
    """The tutorial's plot_rdms: one RDM per layer, each divided by its maximum, one shared colour bar."""
    plt = _mpl()
    k = len(layers)
    fig, axes = plt.subplots(1, k, figsize=(2.6 * k + 1.2, 3.4), squeeze=False)
    labels = cube.label_i.values
    im = None
    for ax, layer in zip(axes[0], layers):
        D = cube.rdm.sel(layer=layer).values.astype(np.float64)
        peak = np.nanmax(D)
        im = ax.imshow(D / peak if peak > 0 else D, cmap="magma_r", vmin=0, vmax=1, interpolation="nearest")
        sub = f"{layer}" + (f"\nseparability {separability[layer]:.2f}" if separability else "")
        ax.set_title(sub, fontsize=10)
        _class_ticks(ax, labels)
    cb = fig.colorbar(im, ax=axes[0].tolist(), fraction=0.025, pad=0.02)
    cb.set_label(f"normalised {cube.attrs['method']} distance", fontsize=9)
    eps = cube.attrs.get("eps") or 0
    what = f"FGSM eps {eps:g} against {cube.attrs.get('attacked_model')}" if eps else "clean images"
    fig.suptitle(title or f"RDMs of {cube.attrs['model']} on {cube.attrs['stimulus_set']} ({what}, "
                 f"N={cube.sizes['stim_i']}); digits grouped by class", fontsize=11)
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
    cmap = plt.get_cmap("tab10", 10)
    norm = mpl.colors.BoundaryNorm(np.arange(-0.5, 10), cmap.N)
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
    cb = fig.colorbar(sc, ax=axes.ravel().tolist(), ticks=np.arange(10), fraction=0.02, pad=0.01, aspect=30)
    cb.set_label("digit", fontsize=9)
    analysis = ds.attrs.get("analysis")
    fig.suptitle(title or f"{analysis + ': ' if analysis else ''}{ds.attrs['model']} on {ds.attrs['stimulus_set']} "
                 f"(N={ds.sizes['stim']})", fontsize=11)
    return fig


def accuracy_chart(table):
    """Bar chart of every model's accuracy on every stimulus set (clean and FGSM), from accuracy.csv rows."""
    plt = _mpl()
    sets = list(dict.fromkeys(table["stimulus_set"]))
    models = list(dict.fromkeys(table["model"]))
    fig, ax = plt.subplots(figsize=(min(12, max(6, 0.35 * len(sets) * len(models) + 2)), 4.6))
    width = 0.8 / len(models)
    for k, m in enumerate(models):
        rows = table[table["model"] == m].set_index("stimulus_set")
        vals = [rows.loc[s, "accuracy"] if s in rows.index else np.nan for s in sets]
        ax.bar(np.arange(len(sets)) + (k - (len(models) - 1) / 2) * width, vals, width, label=m,
               color=DEFAULT_COLORS[k % len(DEFAULT_COLORS)])
    ax.set_xticks(np.arange(len(sets)), labels=sets, rotation=30, ha="right", fontsize=9)
    ax.set_ylim(0, 1.0)
    ax.set_ylabel("accuracy")
    ax.axhline(0.1, color="grey", lw=0.8, ls=":")
    ax.set_title("Accuracy of every model on every stimulus set\n(fgsm_X: images attacked against model X; "
                 "dotted: chance)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="model")
    fig.tight_layout()
    return fig


def aligned_paths_figure(ref, other, aligned, disparity):
    """Two paths over the same entries, the second Procrustes-aligned onto the first."""
    plt = _mpl()
    fig, ax = plt.subplots(figsize=(6.5, 6))
    for ds, emb, style, name in ((ref, ref.embedding.values, "-", ref.attrs["analysis"]),
                                 (other, aligned, "--", other.attrs["analysis"])):
        model = ds.model.values
        for k, m in enumerate(ds.attrs["models"]):
            idx = np.flatnonzero(model == m)
            color = (ds.attrs.get("model_colors") or {}).get(m) or DEFAULT_COLORS[k]
            ax.plot(emb[idx, 0], emb[idx, 1], style, color=color, marker=".",
                    label=f"{name} (N={ds.attrs['n_stimuli']})")
        ax.plot(*emb[np.flatnonzero(ds.layer.values == "input")[0]], "ks", markersize=8)
        if "labels" in set(model):
            ax.plot(*emb[np.flatnonzero(model == "labels")[0]], "m*", markersize=13)
    ax.set_aspect("equal")
    ax.set_xlabel("MDS dim 1")
    ax.set_ylabel("MDS dim 2")
    ax.legend(fontsize=8)
    ax.set_title(f"Paths aligned by Procrustes (disparity {disparity:.3f});\n"
                 f"black square: input, magenta star: labels", fontsize=10)
    fig.tight_layout()
    return fig

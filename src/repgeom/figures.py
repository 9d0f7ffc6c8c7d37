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
    fig.suptitle(title or f"{path.attrs['analysis']}: {', '.join(names[m] for m in models)} on "
                 f"{path.attrs['stimulus_set']} (N={path.attrs['n_stimuli']}; {path.attrs['rdm_method']} RDMs, "
                 f"{path.attrs['compare']} comparison)", fontsize=11)
    fig.tight_layout()
    return fig

"""The tutorial's analysis cells, run in one Python process: the baseline for the workflow's analysis part.

    python benchmarks/tutorial_way.py --results results --out /tmp/tutorial_way

Given the default run's data (``results/data/mnist.npz``) and checkpoints
(``results/checkpoints/*.pt``), this executes, in the tutorial's order and with
the tutorial's own helper functions (``sample_images``, ``calc_rdms``,
``plot_rdms``, ``plot_dim_reduction``, ``rep_path``, ``generate_adversarial``,
``test_adversarial``, ``extract_features``; copied below with only
``plt.show()`` replaced by saving the figure), every analysis cell of the
tutorial: Section 1 (RDMs 20/class, PCA/MDS/t-SNE 50/class, path on the first
500 and on 5/class), the adversarial section, Exercise 1, the model-vs-model
paths, Exercise 2 and the recurrent bonus.  Training cells are replaced by
loading the checkpoints (the workflow's analysis part starts from them too).

Deviations, only where today's libraries would otherwise do different work
or fail: scikit-learn >= 1.8 renamed MDS's ``dissimilarity`` to ``metric``
and changed its defaults to one classical start, so the old defaults
(``n_init=4``, random starts; ``n_init=10`` in ``rep_path``) are passed
explicitly; rsatoolbox 0.3.2's ``concat`` raises on the three RDMs objects of
a two-model path, so those are concatenated by hand.

Writes ``stimuli.npz`` (every image set used, to check it equals the
workflow's) and one PNG per figure under ``--out``; prints the wall time of
each cell and of the whole process (imports included) as JSON on the last line.
"""

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import rsatoolbox  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from rsatoolbox.data import Dataset  # noqa: E402
from rsatoolbox.rdm.calc import calc_rdm  # noqa: E402
from sklearn import manifold  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from torchvision import transforms  # noqa: E402
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names  # noqa: E402
from torchvision.utils import make_grid  # noqa: E402

T_IMPORTED = time.perf_counter()

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

device = torch.device("cpu")
OUT = "."
FIGURES = []


class args:  # what build_args() gives on a CPU machine
    use_cuda = False
    device = device


def show(name):
    """The tutorial's plt.show(), writing the figure instead."""
    path = os.path.join(OUT, f"{len(FIGURES):02d}_{name}.png")
    plt.savefig(path, dpi=100, bbox_inches="tight")
    plt.close("all")
    FIGURES.append(path)


def mds(**kwargs):
    """The tutorial's manifold.MDS(...) with the pre-1.8 scikit-learn defaults spelled out."""
    dissimilarity = kwargs.pop("dissimilarity", "euclidean")
    kwargs.setdefault("n_init", 4)
    try:
        return manifold.MDS(metric=dissimilarity, init="random", **kwargs)
    except TypeError:
        return manifold.MDS(dissimilarity=dissimilarity, **kwargs)


def concat(rdms_list):
    """rsatoolbox.rdm.concat; rsatoolbox 0.3.2 fails on three or more RDMs objects (descriptor merge): by hand then."""
    try:
        return rsatoolbox.rdm.concat(rdms_list)
    except AttributeError:
        return rsatoolbox.rdm.RDMs(np.concatenate([r.dissimilarities for r in rdms_list]),
                                   dissimilarity_measure=rdms_list[0].dissimilarity_measure)


# ---- the tutorial's helpers (plt.show -> show) ------------------------------------------------

def sample_images(data_loader, n=5, plot=False):
    with plt.xkcd():
        imgs, targets = next(iter(data_loader))
        imgs_o = []
        labels = []
        for value in range(10):
            cat_imgs = imgs[np.where(targets == value)][0:n]
            imgs_o.append(cat_imgs)
            labels.append([value] * len(cat_imgs))
        imgs = torch.cat(imgs_o, dim=0)
        labels = torch.tensor(labels).flatten()
        if plot:
            plt.imshow(torch.moveaxis(make_grid(imgs, nrow=5, padding=0, normalize=False, pad_value=0), 0, -1))
            plt.axis('off')
            show("sample_images")
        return imgs, labels


def plot_rdms(model_rdms, name):
    with plt.xkcd():
        fig = plt.figure(figsize=(8, 4))
        gs = fig.add_gridspec(1, len(model_rdms))
        fig.subplots_adjust(wspace=0.2, hspace=0.2)
        for l in range(len(model_rdms)):
            layer = list(model_rdms.keys())[l]
            rdm = np.squeeze(model_rdms[layer])
            if len(rdm.shape) < 2:
                rdm = rdm.reshape((int(np.sqrt(rdm.shape[0])), int(np.sqrt(rdm.shape[0]))))
            rdm = rdm / np.max(rdm)
            ax = plt.subplot(gs[0, l])
            ax_ = ax.imshow(rdm, cmap='magma_r')
            ax.set_title(f'{layer}')
        fig.subplots_adjust(right=0.9)
        cbar_ax = fig.add_axes([1.01, 0.18, 0.01, 0.53])
        cbar_ax.text(-2.3, 0.05, 'Normalized euclidean distance', size=10, rotation=90)
        fig.colorbar(ax_, cax=cbar_ax)
        show(name)


def calc_rdms(model_features, method='correlation'):
    ds_list = []
    for l in range(len(model_features)):
        layer = list(model_features.keys())[l]
        feats = model_features[layer]
        if type(feats) is list:
            feats = feats[-1]
        if args.use_cuda:
            feats = feats.cpu()
        if len(feats.shape) > 2:
            feats = feats.flatten(1)
        feats = feats.detach().numpy()
        ds = Dataset(feats, descriptors=dict(layer=layer))
        ds_list.append(ds)
    rdms = calc_rdm(ds_list, method=method)
    rdms_dict = {list(model_features.keys())[i]: rdms.get_matrices()[i] for i in range(len(model_features))}
    return rdms, rdms_dict


def rep_path(model_features, model_colors, labels=None, rdm_calc_method='euclidean', rdm_comp_method='cosine',
             name="path"):
    with plt.xkcd():
        path_len = []
        path_colors = []
        rdms_list = []
        ax_ticks = []
        tick_colors = []
        model_names = list(model_features.keys())
        for m in range(len(model_names)):
            model_name = model_names[m]
            features = model_features[model_name]
            path_colors.append(model_colors[model_name])
            path_len.append(len(features))
            ax_ticks.append(list(features.keys()))
            tick_colors.append([model_colors[model_name]] * len(features))
            rdms, _ = calc_rdms(features, method=rdm_calc_method)
            rdms_list.append(rdms)
        path_len = np.insert(np.cumsum(path_len), 0, 0)
        if labels is not None:
            rdms, _ = calc_rdms({'labels': F.one_hot(labels).float().to(device)}, method=rdm_calc_method)
            rdms_list.append(rdms)
            ax_ticks.append(['labels'])
            tick_colors.append(['m'])
            idx_labels = -1
        rdms = concat(rdms_list)
        ax_ticks = [l for model_layers in ax_ticks for l in model_layers]
        tick_colors = [l for model_layers in tick_colors for l in model_layers]
        tick_colors = ['k' if tick == 'input' else color for tick, color in zip(ax_ticks, tick_colors)]
        rdms_comp = rsatoolbox.rdm.compare(rdms, rdms, method=rdm_comp_method)
        if rdm_comp_method == 'cosine':
            rdms_comp = 1 - rdms_comp
        rdms_comp = np.nan_to_num(rdms_comp, nan=0.0)
        rdms_comp = (rdms_comp + rdms_comp.T) / 2.0
        transformer = mds(n_components=2, max_iter=1000, n_init=10, normalized_stress='auto',
                          dissimilarity="precomputed")
        dims = transformer.fit_transform(rdms_comp)
        remove_duplicates = np.where(np.array(ax_ticks) == 'input')[0][1:]
        for index in remove_duplicates:
            del ax_ticks[index]
            del tick_colors[index]
            rdms_comp = np.delete(np.delete(rdms_comp, index, axis=0), index, axis=1)
        fig = plt.figure(figsize=(8, 4))
        gs = fig.add_gridspec(1, 2)
        fig.subplots_adjust(wspace=0.2, hspace=0.2)
        ax = plt.subplot(gs[0, 0])
        ax_ = ax.imshow(rdms_comp, cmap='viridis_r')
        fig.subplots_adjust(left=0.2)
        cbar_ax = fig.add_axes([-0.01, 0.2, 0.01, 0.5])
        fig.colorbar(ax_, cax=cbar_ax, location='left')
        ax.set_title('Dissimilarity between layer rdms', fontdict={'fontsize': 14})
        ax.set_xticks(np.arange(len(ax_ticks)), labels=ax_ticks, fontsize=7, rotation=83)
        ax.set_yticks(np.arange(len(ax_ticks)), labels=ax_ticks, fontsize=7)
        [t.set_color(i) for (i, t) in zip(tick_colors, ax.xaxis.get_ticklabels())]
        [t.set_color(i) for (i, t) in zip(tick_colors, ax.yaxis.get_ticklabels())]
        ax = plt.subplot(gs[0, 1])
        amin, amax = dims.min(), dims.max()
        amin, amax = (amin + amax) / 2 - (amax - amin) * 5 / 8, (amin + amax) / 2 + (amax - amin) * 5 / 8
        for i in range(len(rdms_list) - 1):
            path_indices = np.arange(path_len[i], path_len[i + 1])
            ax.plot(dims[path_indices, 0], dims[path_indices, 1], color=path_colors[i], marker='.')
        ax.set_title('Representational geometry path', fontdict={'fontsize': 14})
        ax.set_xlim([amin, amax])
        ax.set_ylim([amin, amax])
        ax.set_xlabel("dim 1")
        ax.set_ylabel("dim 2")
        idx_input = 0
        ax.plot(dims[idx_input, 0], dims[idx_input, 1], color='k', marker='s')
        if labels is not None:
            ax.plot(dims[idx_labels, 0], dims[idx_labels, 1], color='m', marker='*')
        ax.legend(model_names, fontsize=8)
        fig.tight_layout()
        show(name)


def plot_dim_reduction(model_features, labels, transformer_funcs, name):
    with plt.xkcd():
        transformers = []
        for t in transformer_funcs:
            if t == 'PCA': transformers.append(PCA(n_components=2))
            if t == 'MDS': transformers.append(mds(n_components=2, normalized_stress='auto'))
            if t == 't-SNE': transformers.append(manifold.TSNE(n_components=2, perplexity=40, verbose=0))
        fig = plt.figure(figsize=(8, 2.5 * len(transformers)))
        gs = fig.add_gridspec(len(transformers), len(model_features))
        fig.subplots_adjust(wspace=0.2, hspace=0.2)
        return_layers = list(model_features.keys())
        for f in range(len(transformer_funcs)):
            for l in range(len(return_layers)):
                layer = return_layers[l]
                feats = model_features[layer].detach().cpu().flatten(1)
                feats_transformed = transformers[f].fit_transform(feats)
                amin, amax = feats_transformed.min(), feats_transformed.max()
                amin, amax = (amin + amax) / 2 - (amax - amin) * 5 / 8, (amin + amax) / 2 + (amax - amin) * 5 / 8
                ax = plt.subplot(gs[f, l])
                ax.set_xlim([amin, amax])
                ax.set_ylim([amin, amax])
                ax.axis("off")
                if f == 0: ax.text(0.5, 1.12, f'{layer}', size=16, ha="center", transform=ax.transAxes)
                if l == 0: ax.text(-0.3, 0.5, transformer_funcs[f], size=16, ha="center", transform=ax.transAxes)
                num_colors = len(np.unique(labels))
                cmap = plt.get_cmap('viridis_r', num_colors)
                norm = mpl.colors.BoundaryNorm(np.arange(-0.5, num_colors), cmap.N)
                ax_ = ax.scatter(feats_transformed[:, 0], feats_transformed[:, 1], c=labels, cmap=cmap, norm=norm)
        fig.subplots_adjust(right=0.9)
        cbar_ax = fig.add_axes([1.01, 0.18, 0.01, 0.53])
        fig.colorbar(ax_, cax=cbar_ax, ticks=np.linspace(0, 9, 10))
        show(name)


def fgsm_attack(image, epsilon, data_grad):
    sign_data_grad = data_grad.sign()
    perturbed_image = image + epsilon * sign_data_grad
    perturbed_image = torch.clamp(perturbed_image, 0, 1)
    return perturbed_image


def denorm(batch, mean=[0.1307], std=[0.3081]):
    if isinstance(mean, list):
        mean = torch.tensor(mean).to(batch.device)
    if isinstance(std, list):
        std = torch.tensor(std).to(batch.device)
    return batch * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)


def generate_adversarial(model, imgs, targets, epsilon):
    adv_imgs = []
    for img, target in zip(imgs, targets):
        img = img.unsqueeze(0)
        target = target.unsqueeze(0)
        img.requires_grad = True
        output = model(img)
        output = torch.log(output)
        loss = F.nll_loss(output, target)
        model.zero_grad()
        loss.backward()
        data_grad = img.grad.data
        data_denorm = denorm(img)
        perturbed_data = fgsm_attack(data_denorm, epsilon, data_grad)
        perturbed_data_normalized = transforms.Normalize((0.1307,), (0.3081,))(perturbed_data)
        adv_imgs.append(perturbed_data_normalized.detach())
    return torch.cat(adv_imgs)


def test_adversarial(model, imgs, targets):
    correct = 0
    output = model(imgs)
    output = torch.log(output)
    pred = output.argmax(dim=1, keepdim=True)
    correct += pred.eq(targets.view_as(pred)).sum().item()
    final_acc = correct / float(len(imgs))
    print(f"adversarial test accuracy = {correct} / {len(imgs)} = {final_acc}")


def extract_features(model, imgs, return_layers, plot='none'):
    if return_layers == 'all':
        return_layers, _ = get_graph_node_names(model)
    elif return_layers == 'layers':
        layers, _ = get_graph_node_names(model)
        return_layers = [l for l in layers if 'input' in l or 'conv' in l or 'fc' in l]
    feature_extractor = create_feature_extractor(model, return_nodes=return_layers)
    model_features = feature_extractor(imgs)
    return model_features


# ---- the tutorial's cells ----------------------------------------------------------------------

def test_loader_from(results):
    """The tutorial's test loader (ToTensor + Normalize, batch 1000, CPU: no shuffle) over the held-out digits."""
    data = np.load(os.path.join(results, "data", "mnist.npz"))
    x = torch.from_numpy(data["test_images"]).float().div(255).unsqueeze(1)
    x = transforms.Normalize((0.1307,), (0.3081,))(x)
    ds = torch.utils.data.TensorDataset(x, torch.from_numpy(data["test_labels"]))
    return torch.utils.data.DataLoader(ds, batch_size=1000)


def load(results, name):
    """A model of the run; a seeds family (``new_seed``: new_seed-seed2, ...) stands for its first seed."""
    import glob

    from repgeom import checkpoints

    path = os.path.join(results, "checkpoints", f"{name}.pt")
    if not os.path.exists(path):
        family = sorted(glob.glob(os.path.join(results, "checkpoints", f"{name}-seed*.pt")))
        path = family[0] if family else path
    return checkpoints.load_model(path)


def cells(results):
    """Each analysis cell of the tutorial, yielding (cell name, images used) as it finishes."""
    test_loader = test_loader_from(results)
    model = load(results, "standard")

    imgs, labels = sample_images(test_loader, n=5, plot=True)
    train_nodes, _ = get_graph_node_names(model)
    return_layers = ['input', 'conv1', 'conv2', 'fc1', 'fc2']
    model_features = extract_features(model, imgs.to(device), return_layers=return_layers)
    yield "computational steps", {}

    imgs, labels = sample_images(test_loader, n=20)
    model_features = extract_features(model, imgs.to(device), return_layers=return_layers)
    rdms, rdms_dict = calc_rdms(model_features)
    plot_rdms(rdms_dict, "section1_rdms")
    yield "section 1 RDMs (20/class)", {"clean_20": imgs}

    imgs, labels = sample_images(test_loader, n=50)
    model_features = extract_features(model, imgs.to(device), return_layers)
    plot_dim_reduction(model_features, labels, transformer_funcs=['PCA', 'MDS', 't-SNE'], name="section1_dimred")
    yield "section 1 PCA/MDS/t-SNE (50/class)", {"clean_50": imgs}

    imgs, labels = next(iter(test_loader))  # the seed's own cell: the first test batch of 1000
    model_features = extract_features(model, imgs.to(device), return_layers='all')
    rep_path({'feedforward model': model_features}, {'feedforward model': 'b'}, labels, name="path_first_1000")
    yield "section 1 path (first 1000)", {"first_1000": imgs}

    imgs, labels = sample_images(test_loader, n=5)
    model_features = extract_features(model, imgs.to(device), return_layers='all')
    rep_path({'feedforward model': model_features}, {'feedforward model': 'b'}, labels, name="path_5_per_class")
    yield "section 1 path (5/class)", {"clean_5": imgs}

    imgs, labels = sample_images(test_loader, n=20)
    eps = 0.2
    adv_imgs = generate_adversarial(model, imgs.to(device), labels.to(device), eps)
    model_features = extract_features(model, adv_imgs.to(device), return_layers)
    rdms, rdms_dict = calc_rdms(model_features)
    plot_rdms(rdms_dict, "adversarial_rdms")
    yield "FGSM on the standard model + its RDMs", {"fgsm_standard_20": adv_imgs}

    model_robust = load(results, "adversarial")
    imgs, labels = sample_images(test_loader, n=20)
    adv_imgs = generate_adversarial(model_robust, imgs.to(device), labels.to(device), eps)
    test_adversarial(model_robust, adv_imgs.to(device), labels.to(device))
    model_features = extract_features(model_robust, adv_imgs.to(device), return_layers)
    rdms, rdms_dict = calc_rdms(model_features)
    plot_rdms(rdms_dict, "robust_rdms")
    yield "FGSM on the robust model, its accuracy and RDMs", {"fgsm_adversarial_20": adv_imgs}

    imgs, labels = sample_images(test_loader, n=50)
    model_features = extract_features(model, imgs.to(device), return_layers)
    plot_dim_reduction(model_features, labels, transformer_funcs=['MDS'], name="exercise1_mds")
    yield "exercise 1 (MDS)", {}

    imgs, labels = sample_images(test_loader, n=50)
    model_features = extract_features(model, imgs.to(device), return_layers='all')
    model_features_robust = extract_features(model_robust, imgs.to(device), return_layers='all')
    rep_path({'feedforward model': model_features, 'robust feedforward model': model_features_robust},
             {'feedforward model': 'b', 'robust feedforward model': 'g'}, labels, name="standard_vs_robust_clean")
    yield "standard vs robust path, clean", {}

    imgs, labels = sample_images(test_loader, n=50)
    adv_imgs = generate_adversarial(model, imgs.to(device), labels.to(device), eps)
    model_features = extract_features(model, adv_imgs.to(device), return_layers='all')
    model_features_robust = extract_features(model_robust, adv_imgs.to(device), return_layers='all')
    rep_path({'feedforward model': model_features, 'robust feedforward model': model_features_robust},
             {'feedforward model': 'b', 'robust feedforward model': 'g'}, labels,
             name="standard_vs_robust_adversarial")
    yield "standard vs robust path, FGSM", {"fgsm_standard_50": adv_imgs}

    model_new_seed = load(results, "new_seed")
    imgs, labels = sample_images(test_loader, n=50)
    model_features = extract_features(model, imgs.to(device), return_layers='all')
    model_features_new_seed = extract_features(model_new_seed, imgs.to(device), return_layers='all')
    rep_path({'model': model_features, 'model new seed': model_features_new_seed},
             {'model': 'b', 'model new seed': 'c'}, labels, name="exercise2_new_seed")
    yield "exercise 2 (new seed) path", {}

    model_recurrent = load(results, "recurrent")
    train_nodes, _ = get_graph_node_names(model_recurrent)
    imgs, labels = sample_images(test_loader, n=20)
    return_layers = ['conv2', 'conv2_1', 'conv2_2', 'conv2_3', 'conv2_4']
    model_features = extract_features(model_recurrent, imgs.to(device), return_layers)
    rdms, rdms_dict = calc_rdms(model_features)
    plot_rdms(rdms_dict, "recurrent_rdms")
    yield "recurrent RDMs", {}

    imgs, labels = sample_images(test_loader, n=50)
    model_features = extract_features(model_recurrent, imgs.to(device), return_layers)
    plot_dim_reduction(model_features, labels, transformer_funcs=['PCA', 'MDS', 't-SNE'], name="recurrent_dimred")
    yield "recurrent PCA/MDS/t-SNE", {}

    imgs, labels = sample_images(test_loader, n=50)
    model_features_recurrent = extract_features(model_recurrent, imgs.to(device), return_layers='all')
    rep_path({'recurrent model': model_features_recurrent}, {'recurrent model': 'y'}, labels, name="recurrent_path")
    yield "recurrent path", {}

    model_features = extract_features(model, imgs.to(device), return_layers='all')
    rep_path({'feedforward model': model_features, 'recurrent model': model_features_recurrent},
             {'feedforward model': 'b', 'recurrent model': 'y'}, labels, name="feedforward_vs_recurrent")
    yield "feedforward vs recurrent path", {}


def main():
    global OUT
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", default="results", help="a results folder holding data/mnist.npz and checkpoints/")
    p.add_argument("--out", required=True, help="folder for the figures and stimuli.npz")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = p.parse_args()
    OUT = a.out
    os.makedirs(OUT, exist_ok=True)
    if a.threads:
        torch.set_num_threads(a.threads)
    timings, stimuli = [], {}
    t = time.perf_counter()
    for name, used in cells(a.results):
        now = time.perf_counter()
        timings.append((name, now - t))
        print(f"{now - T_START:7.1f} s  {name} ({now - t:.1f} s)", flush=True)
        t = now
        stimuli.update({k: v.detach().numpy() for k, v in used.items()})
    np.savez(os.path.join(OUT, "stimuli.npz"), **stimuli)
    end = time.perf_counter()
    print(json.dumps({"seconds": end - T_START, "imports": T_IMPORTED - T_START, "cells": timings,
                      "figures": len(FIGURES)}))


if __name__ == "__main__":
    main()

"""Load (safely) or train a model; write the normalised checkpoint."""

import json
import os

from ._shell import log, main, set_threads, torch_device, write_json


def run(a):
    import torch

    from .. import attacks, checkpoints, download, mnist, training

    set_threads(a.threads)
    spec = json.loads(a.spec)
    data = mnist.read(a.data)
    arch = spec["arch"]
    arch_kwargs = {"time_steps": spec.get("time_steps", 5)} if arch == "recurrent" else {}
    record = {"model": a.model, "arch": arch, "arch_kwargs": arch_kwargs, "data": data.record()}
    fetched = None
    if a.fetched:
        with open(os.path.join(a.fetched, "fetch.json")) as f:
            fetched = json.load(f)
    ck = spec.get("checkpoint") or {}
    if fetched and fetched["status"] == "downloaded":
        path = os.path.join(a.fetched, "checkpoint.pth")
        model = checkpoints.load_model(path, arch=arch)
        record.update(source="downloaded", url=fetched["url"], source_md5=fetched["md5"])
    elif ck.get("path"):
        path = ck["path"]
        md5 = download.md5sum(path)
        if ck.get("md5") and md5 != ck["md5"].lower():
            raise SystemExit(f"{path}: md5 {md5} does not match the configured {ck['md5']}")
        model = checkpoints.load_model(path, arch=arch)
        record.update(source="local", path=os.path.abspath(path), source_md5=md5)
    else:
        if "train" not in spec:
            raise SystemExit(f"model {a.model}: the checkpoint could not be had and no train recipe is configured")
        recipe = training.Recipe(**spec["train"])
        why = "train-only model" if not fetched else f"download unreachable: {fetched.get('error')}"
        log.info("training %s (%s, %s) on %d %s digits: %s", a.model, arch, recipe, len(data.train_labels),
                 data.source, why)
        model, history = training.train(arch, data.train_images, data.train_labels, recipe,
                                        arch_kwargs=arch_kwargs, progress=log.info,
                                        device=torch_device(a.device))
        record.update(source="trained", reason=why, recipe=vars(recipe), history=history)
        if fetched:
            record.update(url=fetched["url"], fallback_from="download")
    # held-out metrics
    x = mnist.normalize(data.test_images)
    y = torch.as_tensor(data.test_labels)
    correct, n = training.accuracy(model, x, y)
    adv = attacks.fgsm(model.eval(), x, y, a.fgsm_eps)
    adv_correct, _ = training.accuracy(model, adv, y)
    record["metrics"] = {
        "heldout_accuracy": correct / n, "heldout_correct": correct, "heldout_n": n,
        "fgsm_eps": a.fgsm_eps, "heldout_fgsm_accuracy": adv_correct / n, "heldout_fgsm_correct": adv_correct,
    }
    log.info("%s: held-out accuracy %d/%d = %.4f; self-FGSM eps %.2f: %d/%d = %.4f", a.model, correct, n,
             correct / n, a.fgsm_eps, adv_correct, n, adv_correct / n)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    checkpoints.save_model(model, a.out, meta={"model": a.model, "source": record["source"]})
    record["md5"] = download.md5sum(a.out)
    write_json(record, a.record)


def add_arguments(p):
    p.add_argument("--model", required=True)
    p.add_argument("--spec", required=True, help="the model's config entry as JSON")
    p.add_argument("--data", required=True)
    p.add_argument("--fetched", help="folder written by 'fetch'")
    p.add_argument("--fgsm-eps", type=float, default=0.2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True)
    p.add_argument("--record", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

"""Write a stimulus set (pixels in [0, 1]) of any registered kind."""

import json

from .. import mnist, store
from ..devices import set_threads, torch_device
from ..stimuli import STIMULUS_KINDS, read_stimuli
from ._shell import log, main, provenance


def run(a):
    spec = json.loads(a.spec)
    kind = STIMULUS_KINDS[spec["kind"]]
    attrs = {"stimulus_set": a.set, "stimulus_kind": spec["kind"], "stimulus_spec": spec, "eps": 0.0,
             "attacked_model": "", **provenance()}
    if kind.attacks:
        from ..checkpoints import (
            load_network,  # imports torch (~2.5 s): only an attack needs the network
        )

        set_threads(a.threads)
        base = read_stimuli(a.base)
        network, _, record = load_network(a.checkpoint, a.record)
        stim = kind.make(spec, base, network, device=torch_device(a.device))
        attrs.update(eps=spec["eps"], attacked_model=spec["model"], attacked_checkpoint_md5=record["md5"],
                     base_set=spec["base"], data_source=base.attrs.get("data_source"),
                     label_space=base.attrs.get("label_space"))
        log.info("FGSM eps %g against %s on %d images of %s", spec["eps"], spec["model"], len(stim.ids), spec["base"])
    elif kind.needs_mnist:
        data = mnist.read(a.data)
        stim = kind.make(spec, data)
        attrs.update(data_source=data.source, label_space="mnist")
        log.info("%s: %d held-out digits (%s)", a.set, len(stim.ids), spec)
    else:
        stim = kind.make(spec)
        attrs.update(data_source=spec["kind"], label_space=spec.get("label_space"))
        log.info("%s: %d images, %d classes, shape %s", a.set, len(stim.ids), len(stim.classes),
                 stim.images.shape[1:])
    attrs["data"] = stim.attrs.get("data")
    store.write_stimuli(a.out, stim, attrs)


def add_arguments(p):
    p.add_argument("--set", required=True)
    p.add_argument("--spec", required=True)
    p.add_argument("--data")
    p.add_argument("--base")
    p.add_argument("--checkpoint")
    p.add_argument("--record")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)

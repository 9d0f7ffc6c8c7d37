"""Write the 92 object images of Kriegeskorte et al. (2008) as an image folder, with their stimulus order.

    python examples/92images/prepare.py [DATA_DIR] [OUT_DIR]

DATA_DIR holds ``Kriegeskorte_Neuron2008_supplementalData.mat`` (and the RDM
files; default: this folder's ``data/``).  OUT_DIR (default
``resources/92images``) receives:

* ``images/<category>/<NN>.png`` — each photograph (175 x 175 RGB) under its
  category (``human_face``, ...), NN its 1-based position in the .mat, so the
  ids (paths relative to ``images/``) stay tied to the original order;
* ``stimulus_order.txt`` — those ids in the .mat's order: the rows of every
  RDM in the .mat files (``stimulus_order:`` of the config's references);
* copies of the three .mat files, so the config names fixed paths.
"""

import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MAT_FILES = ("Kriegeskorte_Neuron2008_supplementalData.mat", "92_brainRDMs.mat", "92_behavRDMs.mat")


def prepare(data_dir, out_dir):
    import numpy as np
    import scipy.io
    from PIL import Image

    mat = scipy.io.loadmat(os.path.join(data_dir, MAT_FILES[0]), squeeze_me=True, struct_as_record=False)
    ids = []
    images = os.path.join(out_dir, "images")
    tmp = images + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for k, stim in enumerate(mat["stimuli_92objs"], start=1):
        category = str(stim.category).strip().replace(" ", "_")
        rel = f"{category}/{k:02d}.png"
        os.makedirs(os.path.join(tmp, category), exist_ok=True)
        Image.fromarray(np.asarray(stim.image, dtype=np.uint8)).save(os.path.join(tmp, rel))
        ids.append(rel)
    shutil.rmtree(images, ignore_errors=True)
    os.replace(tmp, images)
    with open(os.path.join(out_dir, "stimulus_order.txt"), "w") as f:
        f.write("\n".join(ids) + "\n")
    for name in MAT_FILES:
        shutil.copyfile(os.path.join(data_dir, name), os.path.join(out_dir, name))
    return ids


if __name__ == "__main__":
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "data")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join("resources", "92images")
    os.makedirs(out, exist_ok=True)
    ids = prepare(data, out)
    print(f"{len(ids)} images in {len(set(i.split('/')[0] for i in ids))} categories -> {out}/images; "
          f"order in {out}/stimulus_order.txt")

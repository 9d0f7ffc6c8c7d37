import os
import pickle
import subprocess
import sys
import textwrap

import pytest
import torch

from repgeom import checkpoints, networks
from repgeom.models import MODEL_KINDS

# The tutorial's classes, verbatim in structure, saved the tutorial's way: torch.save(model, path)
# from a script run as __main__, so the pickle names __main__.Net / __main__.recurrent_Net.
TUTORIAL_SCRIPT = textwrap.dedent('''
    import sys
    from collections import OrderedDict
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, input):
            x = self.conv1(input)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.softmax(x, dim=1)
            return output

    class recurrent_Net(nn.Module):
        def __init__(self, time_steps=5):
            super(recurrent_Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, 3)
            self.conv2 = nn.Conv2d(16, 16, 3, 1, padding=1)
            self.readout = nn.Sequential(OrderedDict([
                ('dropout', nn.Dropout(0.25)),
                ('avgpool', nn.AdaptiveAvgPool2d(1)),
                ('flatten', nn.Flatten()),
                ('linear', nn.Linear(16, 10))
            ]))
            self.time_steps = time_steps

        def forward(self, input):
            input = self.conv1(input)
            x = input
            for t in range(0, self.time_steps):
                x = input + self.conv2(x)
                x = F.relu(x)
            x = self.readout(x)
            output = F.softmax(x, dim=1)
            return output

    out = sys.argv[1]
    torch.manual_seed(7)
    x = torch.randn(16, 1, 28, 28)
    for name, model in [("standard", Net()), ("recurrent", recurrent_Net(time_steps=4))]:
        model.eval()
        torch.save(model, f"{out}/{name}_model.pth")
        with torch.no_grad():
            torch.save({"x": x, "y": model(x)}, f"{out}/{name}_reference.pt")
        torch.save(model.state_dict(), f"{out}/{name}_state_dict.pth")
''')


@pytest.fixture(scope="module")
def tutorial_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tutorial")
    script = folder / "tutorial_save.py"
    script.write_text(TUTORIAL_SCRIPT)
    subprocess.run([sys.executable, str(script), str(folder)], check=True, cwd=folder)
    return folder


@pytest.mark.parametrize("name,kind", [("standard", "feedforward"), ("recurrent", "recurrent")])
def test_whole_module_saved_the_tutorials_way_loads_with_identical_outputs(tutorial_files, name, kind):
    with open(tutorial_files / f"{name}_model.pth", "rb") as f:
        assert f"__main__".encode() in f.read()  # really pickled under __main__
    model = checkpoints.load_model(str(tutorial_files / f"{name}_model.pth"), kind=kind)
    assert type(model) is MODEL_KINDS[kind].cls
    assert not model.training
    ref = torch.load(tutorial_files / f"{name}_reference.pt", weights_only=True)
    with torch.no_grad():
        assert torch.equal(model(ref["x"]), ref["y"])
    if kind == "recurrent":
        assert model.time_steps == 4


@pytest.mark.parametrize("name,kind", [("standard", "feedforward"), ("recurrent", "recurrent")])
def test_state_dict_loads(tutorial_files, name, kind):
    model = checkpoints.load_model(str(tutorial_files / f"{name}_state_dict.pth"), kind=kind)
    ref = torch.load(tutorial_files / f"{name}_reference.pt", weights_only=True)
    if kind == "feedforward":  # the recurrent state_dict lacks time_steps=4, so outputs differ by design
        with torch.no_grad():
            assert torch.equal(model(ref["x"]), ref["y"])


def test_normalised_checkpoint_round_trips(tmp_path):
    torch.manual_seed(0)
    model = networks.RecurrentNet(time_steps=3).eval()
    path = str(tmp_path / "m.pt")
    checkpoints.save_model(model, path, meta={"source": "test"})  # kind and build spec read off the instance
    back = checkpoints.load_model(path, kind="recurrent")
    assert back.time_steps == 3
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(back(x), model(x))
    assert sorted(os.listdir(tmp_path)) == ["m.pt"]


def test_a_checkpoint_replaced_after_its_record_is_refused_by_name(tmp_path):
    """A record describes its file: another valid network put in its place is refused, naming both files."""
    import json

    from repgeom.download import md5sum
    from repgeom.errors import CheckpointRefused

    path, record = str(tmp_path / "standard.pt"), tmp_path / "standard.json"
    torch.manual_seed(0)
    checkpoints.save_model(networks.RecurrentNet(time_steps=3).eval(), path)
    record.write_text(json.dumps({"kind": "recurrent", "build": {"time_steps": 3}, "md5": md5sum(path)}))
    net, rec = checkpoints.load_checkpoint(path, str(record))
    assert rec["md5"] == md5sum(path)
    torch.manual_seed(1)
    checkpoints.save_model(networks.RecurrentNet(time_steps=3).eval(), path)  # other weights, same shape
    with pytest.raises(CheckpointRefused, match="its record .*standard.json describes"):
        checkpoints.load_checkpoint(path, str(record))


def test_wrong_architecture_is_refused(tutorial_files):
    with pytest.raises(checkpoints.CheckpointRefused, match="'feedforward' network, but the config says 'recurrent'"):
        checkpoints.load_model(str(tutorial_files / "standard_model.pth"), kind="recurrent")


def test_bare_state_dict_of_wrong_shape_is_refused(tutorial_files):
    with pytest.raises(checkpoints.CheckpointRefused, match="do not fit"):
        checkpoints.load_model(str(tutorial_files / "recurrent_state_dict.pth"), kind="feedforward")


# --- malicious files: each would create MARKER if anything in it were executed ---------------

def _payloads(marker):
    import builtins
    import os as _os
    import subprocess as _subprocess

    class OsSystem:
        def __reduce__(self):
            return (_os.system, (f"touch {marker}",))

    class Eval:
        def __reduce__(self):
            return (builtins.eval, (f"open({str(marker)!r}, 'w').close()",))

    class Exec:
        def __reduce__(self):
            return (builtins.exec, (f"open({str(marker)!r}, 'w').close()",))

    class Popen:
        def __reduce__(self):
            return (_subprocess.Popen, (["touch", str(marker)],))

    class TorchSave:  # a torch function that is not on the allow-list (it would write the marker)
        def __reduce__(self):
            return (torch.save, ({"x": 1}, str(marker)))

    class OsSystemLegacy(OsSystem):
        pass

    return {
        "os.system (zip)": (OsSystem(), "system", {}),
        "builtins.eval": (Eval(), "builtins.eval", {}),
        "builtins.exec": (Exec(), "builtins.exec", {}),
        "subprocess.Popen": ({"weights": Popen()}, "Popen", {}),
        "torch.save (non-allowed torch global)": (TorchSave(), "torch.serialization.save", {}),
        "nested in a state_dict": ({"conv1.weight": torch.zeros(1), "evil": OsSystem()}, "system", {}),
        "os.system (legacy format)": (OsSystemLegacy(), "system", {"_use_new_zipfile_serialization": False}),
    }


@pytest.mark.parametrize("case", list(_payloads("/dev/null")))
def test_malicious_pickles_are_refused_without_side_effects(tmp_path, case):
    marker = tmp_path / "PWNED"
    obj, global_name, save_kwargs = _payloads(marker)[case]
    path = tmp_path / "evil.pth"
    torch.save(obj, path, **save_kwargs)
    with pytest.raises(checkpoints.CheckpointRefused) as err:
        checkpoints.load_model(str(path), kind="feedforward")
    msg = str(err.value)
    assert global_name in msg and "refused" in msg
    assert len(msg) < 400, "refusal message should be short"
    assert not marker.exists(), "the payload ran"


def test_plain_pickle_with_payload_is_refused(tmp_path):
    marker = tmp_path / "PWNED"
    evil = _payloads(marker)["os.system (zip)"][0]
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(evil))
    with pytest.raises(checkpoints.CheckpointRefused):
        checkpoints.load_model(str(path), kind="feedforward")
    assert not marker.exists()


def test_unknown_main_class_is_refused_by_name(tmp_path):
    script = tmp_path / "other.py"
    script.write_text(textwrap.dedent('''
        import sys, torch, torch.nn as nn
        class ResNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(2, 2)
        torch.save(ResNet(), sys.argv[1])
    '''))
    subprocess.run([sys.executable, str(script), str(tmp_path / "r.pth")], check=True)
    with pytest.raises(checkpoints.CheckpointRefused, match=r"__main__\.ResNet"):
        checkpoints.load_model(str(tmp_path / "r.pth"))


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_bytes(b"<html>Sign in to OSF</html>")
    with pytest.raises(checkpoints.CheckpointRefused, match="junk.pth"):
        checkpoints.load_model(str(path), kind="feedforward")


def test_the_old_normalised_format_still_loads(tmp_path):
    torch.manual_seed(1)
    model = networks.RecurrentNet(time_steps=2).eval()
    old = {"format": "repgeom-checkpoint/1", "arch": "recurrent", "arch_kwargs": {"time_steps": 2},
           "state_dict": model.state_dict(), "meta": {}}
    torch.save(old, tmp_path / "old.pt")
    back = checkpoints.load_model(str(tmp_path / "old.pt"), kind="recurrent")
    assert back.time_steps == 2 and torch.equal(back.conv2.weight, model.conv2.weight)


def test_other_kinds_take_state_dicts_only_even_of_the_tutorials_classes(tutorial_files, tmp_path):
    # the tutorial's whole-module pickle is refused for a torchvision kind: no extra globals at all
    with pytest.raises(checkpoints.CheckpointRefused, match="Only state_dicts are accepted"):
        checkpoints.load_model(str(tutorial_files / "standard_model.pth"), kind="torchvision",
                               build={"builder": "alexnet", "num_classes": 10})
    from torchvision.models import get_model

    torch.manual_seed(0)
    net = get_model("resnet18", weights=None, num_classes=5).eval()
    torch.save(net.state_dict(), tmp_path / "r.pth")
    build = {"builder": "resnet18", "num_classes": 5}
    back = checkpoints.load_model(str(tmp_path / "r.pth"), kind="torchvision", build=build)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(back(x), net(x))
    torch.save({"state_dict": net.state_dict(), "epoch": 3}, tmp_path / "wrapped.pth")  # a common wrapper
    assert torch.equal(checkpoints.load_model(str(tmp_path / "wrapped.pth"), "torchvision", build).fc.weight,
                       net.fc.weight)
    checkpoints.save_model(back, str(tmp_path / "n.pt"), kind="torchvision", build=build, meta={})
    assert checkpoints.read_normalised(str(tmp_path / "n.pt")) == ("torchvision", build)
    with pytest.raises(checkpoints.CheckpointRefused, match="do not fit"):
        checkpoints.load_model(str(tmp_path / "r.pth"), kind="torchvision",
                               build={"builder": "resnet18", "num_classes": 6})

import torch

from repgeom import networks, nodes, store
from repgeom.models import MODEL_KINDS

# As the tutorial prints them (get_graph_node_names(model)[0]).
TUTORIAL_FEEDFORWARD = ['input', 'conv1', 'relu', 'conv2', 'relu_1', 'max_pool2d', 'dropout1', 'flatten', 'fc1',
                        'relu_2', 'dropout2', 'fc2', 'softmax']
TUTORIAL_RECURRENT = ['input', 'conv1', 'conv2', 'add', 'relu', 'conv2_1', 'add_1', 'relu_1', 'conv2_2', 'add_2',
                      'relu_2', 'conv2_3', 'add_3', 'relu_3', 'conv2_4', 'add_4', 'relu_4', 'readout.dropout',
                      'readout.avgpool', 'readout.flatten', 'readout.linear', 'softmax']


def test_feedforward_node_names_are_the_tutorials():
    assert networks.node_names(networks.Net()) == TUTORIAL_FEEDFORWARD == nodes.FEEDFORWARD_NODES


def test_recurrent_node_names_are_the_tutorials():
    assert networks.node_names(networks.RecurrentNet()) == TUTORIAL_RECURRENT == nodes.recurrent_nodes(5)


def test_outputs_are_probabilities():
    x = torch.randn(3, 1, 28, 28)
    for kind in MODEL_KINDS.where(lambda k: k.tutorial):
        y = MODEL_KINDS[kind].build({}).eval()(x)
        assert y.shape == (3, 10)
        assert torch.allclose(y.sum(1), torch.ones(3), atol=1e-6)


def test_recurrent_has_the_tutorials_parameter_count():
    assert sum(p.numel() for p in networks.RecurrentNet().parameters()) == 2650


def test_fx_names_and_activations_equal_torchvisions_feature_extraction():
    # repgeom traces with torch.fx itself (torchvision.models costs ~1.5 s to import per job);
    # torchvision's get_graph_node_names / create_feature_extractor are the reference.
    from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

    torch.manual_seed(0)
    x = torch.randn(7, 1, 28, 28)
    for model in [networks.Net()] + [networks.RecurrentNet(t) for t in (1, 3, 5, 6)]:
        model.eval()
        names = get_graph_node_names(model)[0]
        assert networks.node_names(model) == names
        with torch.no_grad():
            ours = networks.feature_extractor(model, names)(x)
            ref = create_feature_extractor(model, return_nodes=names)(x)
        assert list(ours) == names
        for n in names:
            assert torch.equal(ours[n], ref[n]), n
    try:
        networks.feature_extractor(networks.Net(), ["conv1", "conv9"])
    except ValueError as err:
        assert "conv9" in str(err) and "'relu_1'" in str(err)
    else:
        raise AssertionError("an unknown node was accepted")


def test_manifest_of_a_torchvision_network_lists_tensor_nodes_and_weighted_layers():
    from torchvision.models import get_model

    torch.manual_seed(0)
    model = get_model("resnet18", weights=None, num_classes=7).eval()
    m = networks.manifest(model, torch.rand(2, 3, 64, 64))
    assert m["tracer"] == "fx" and m["nodes"][0] == "input" and m["nodes"][-1] == "fc"
    assert m["shapes"]["fc"] == [7] and m["shapes"]["layer4.1.relu_1"] == [512, 2, 2]
    assert m["layers"][:3] == ["input", "conv1", "layer1.0.conv1"] and m["layers"][-1] == "fc"
    assert len(m["layers"]) == 1 + 1 + 16 + 3 + 1  # input, stem, block convs, downsample convs, fc
    # a module name stands for its last node (torchvision's convention)
    assert nodes.resolve(m, ["layer4", "input"]) == ["input", "layer4.1.relu_1"]


def test_hooks_stand_in_where_fx_cannot_trace():
    class Branchy(torch.nn.Module):  # data-dependent control flow: torch.fx gives up
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(4, 3)
            self.b = torch.nn.Linear(3, 2)

        def forward(self, x):
            h = self.a(x.flatten(1))
            if h.sum() > 0:
                h = torch.relu(h)
            return self.b(h)

    torch.manual_seed(0)
    model = Branchy().eval()
    x = torch.rand(5, 1, 2, 2)
    m = networks.manifest(model, x[:2])
    assert m["tracer"] == "hooks" and m["nodes"] == ["input", "a", "b", "output"]
    assert m["layers"] == ["input", "a", "b"] and "fx_error" in m
    feats = networks.feature_extractor(model, ["a", "output"], "hooks")(x)
    with torch.no_grad():
        assert torch.equal(feats["a"], model.a(x.flatten(1))) and torch.equal(feats["output"], model(x))


class _Activations(torch.nn.Module):
    """A ReLU by every spelling, a ReLU6 and a leaky ReLU (not ReLUs), one ReLU of two things."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)
        self.act = torch.nn.ReLU()
        self.act6 = torch.nn.ReLU6()

    def forward(self, input):
        h = self.lin(input)
        a = torch.relu(h)
        b = self.act(h)
        c = h.relu()
        d = torch.nn.functional.relu(h + input)
        e = self.act6(h)
        f = torch.nn.functional.leaky_relu(h)
        return a + b + c + d + e + f


def test_graph_derived_nodes_are_read_from_the_traced_graph():
    relu = lambda pairs: {n: (prev, "relu") for n, prev in pairs.items()}  # noqa: E731
    assert networks.graph_derived(networks.Net(), TUTORIAL_FEEDFORWARD) == relu({"relu": "conv1", "relu_1": "conv2",
                                                                                 "relu_2": "fc1"})
    assert networks.graph_derived(networks.RecurrentNet(), TUTORIAL_RECURRENT) == relu({
        f"relu{s}": f"add{s}" for s in ["", "_1", "_2", "_3", "_4"]})
    names = networks.node_names(_Activations())
    # ReLU6, leaky ReLU: not ReLUs; the ReLU of h + input is of ``add``, which is not asked for here
    assert networks.graph_derived(_Activations(), names) == relu({"relu": "lin", "act": "lin", "relu_1": "lin",
                                                                  "relu_2": "add"})
    assert networks.graph_derived(_Activations(), ["lin", "relu", "relu_2"]) == relu({"relu": "lin"})
    assert networks.graph_derived(networks.Net(), TUTORIAL_FEEDFORWARD, tracer="hooks") == {}
    assert set(networks.GRAPH_OPS) <= set(store.NODE_OPS)  # every op the graph is read for can be recomputed


def test_the_torchvision_names_checked_at_validation_are_the_installed_torchvisions():
    """The table that validation checks builder and weights names against (without importing torchvision)
    is the installed torchvision's: regenerate it with ``python -m repgeom.torchvision_names`` on upgrade."""
    from repgeom import torchvision_names

    assert torchvision_names.generate() == torchvision_names.BUILDERS

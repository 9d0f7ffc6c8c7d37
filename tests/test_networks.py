import torch

from repgeom import networks

# As the tutorial prints them (get_graph_node_names(model)[0]).
TUTORIAL_FEEDFORWARD = ['input', 'conv1', 'relu', 'conv2', 'relu_1', 'max_pool2d', 'dropout1', 'flatten', 'fc1',
                        'relu_2', 'dropout2', 'fc2', 'softmax']
TUTORIAL_RECURRENT = ['input', 'conv1', 'conv2', 'add', 'relu', 'conv2_1', 'add_1', 'relu_1', 'conv2_2', 'add_2',
                      'relu_2', 'conv2_3', 'add_3', 'relu_3', 'conv2_4', 'add_4', 'relu_4', 'readout.dropout',
                      'readout.avgpool', 'readout.flatten', 'readout.linear', 'softmax']


def test_feedforward_node_names_are_the_tutorials():
    assert networks.node_names(networks.Net()) == TUTORIAL_FEEDFORWARD == networks.FEEDFORWARD_NODES


def test_recurrent_node_names_are_the_tutorials():
    assert networks.node_names(networks.RecurrentNet()) == TUTORIAL_RECURRENT == networks.RECURRENT_NODES


def test_outputs_are_probabilities():
    x = torch.randn(3, 1, 28, 28)
    for arch in networks.ARCHITECTURES:
        y = networks.build(arch).eval()(x)
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

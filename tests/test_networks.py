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

"""GL's networks: shapes, the hole-filling input, the dilations that fit 16x16, and their size."""
from __future__ import annotations

import torch

from inpaint.train.gl import CompletionNet, ContextDiscriminator, conv_flops, mean_filled


def test_completion_net_maps_a_masked_image_to_an_image():
    net = CompletionNet(width=16).eval()
    image = torch.rand(2, 3, 64, 64) * 2 - 1
    known = torch.ones(2, 1, 64, 64)
    known[:, :, 16:48, 16:48] = 0
    out = net(mean_filled(image, known), known)
    assert out.shape == (2, 3, 64, 64) and out.abs().max() <= 1
    # the dilated layers run at 16x16 and their rates fit it
    sizes = []
    x = torch.cat([image, known], 1)
    for layer in net.net:
        x = layer(x)
        if isinstance(layer, torch.nn.Conv2d) and layer.dilation[0] > 1:
            sizes.append((layer.dilation[0], x.shape[-1]))
    assert sizes == [(2, 16), (4, 16), (8, 16)]


def test_mean_filled_sets_the_hole_to_the_known_mean_and_keeps_the_rest():
    image = torch.rand(1, 3, 8, 8)
    known = torch.ones(1, 1, 8, 8)
    known[..., 2:5, 3:6] = 0
    filled = mean_filled(image, known)
    assert torch.equal(filled * known, image * known)
    mean = (image * known).sum((2, 3)) / known.sum()
    assert torch.allclose(filled[..., 3, 4], mean)


def test_discriminator_scores_image_and_patch_and_the_model_is_small():
    d = ContextDiscriminator(width=32).eval()
    logit = d(torch.rand(3, 3, 64, 64), torch.rand(3, 3, 32, 32))
    assert logit.shape == (3,)
    net = CompletionNet(width=32).eval()
    params = sum(p.numel() for p in net.parameters())
    # only the completion network is shipped (D trains it): in fp16 it fits the 4 MB the shipped
    # files leave of the 25 MB budget (in fp32, 5.5 MB, it would not)
    assert 2 * params < 4e6
    flops = conv_flops(net, torch.rand(1, 3, 64, 64), torch.ones(1, 1, 64, 64))
    assert 0.2e9 < flops < 2e9       # one completion: of the order of one search iteration (1.4 GFLOP)

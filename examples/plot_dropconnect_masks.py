"""
DropConnect's per-example masks, which the layer never stores
=============================================================

:class:`~skgates.nn.DropConnectLinear` is a drop-in for ``torch.nn.Linear`` that drops
each weight with probability ``p`` during training, with a **fresh mask for every
example** in the batch. Storing those masks would cost ``batch x out x in`` numbers; the
layer draws them chunk by chunk from a saved seed and draws them again in the backward
pass instead.

A single example's weight gradient is non-zero exactly where that example's mask kept
the weight, so the gradients of two examples show their two masks (black: kept).
"""

import matplotlib.pyplot as plt
import torch

from skgates.nn import DropConnectLinear
from skgates.nn.dropconnect import DEFAULT_CHUNK_ELEMENTS

torch.manual_seed(0)
layer = DropConnectLinear(24, 16, p=0.5)
kept = []
for row in torch.ones(2, 24):
    layer.weight.grad = None
    layer(row[None]).sum().backward()
    kept.append((layer.weight.grad != 0).float())

fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
for i, (ax, mask) in enumerate(zip(axes, kept)):
    ax.imshow(mask, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    ax.set(title=f"example {i}: {mask.mean():.0%} of the weights kept", xlabel="input unit",
           ylabel="output unit")
agree = (kept[0] == kept[1]).float().mean().item()
fig.suptitle(f"Two examples, two masks of one 16 x 24 layer (equal on {agree:.0%} of the weights)")

# %%
# The memory this saves, for one training step of a 512 x 512 layer on 512 rows:
masks_mib = 512 * 512 * 512 * 4 / 2**20
chunk_mib = DEFAULT_CHUNK_ELEMENTS["cpu"] * 4 / 2**20
print(f"every mask as float32: {masks_mib:.0f} MiB; "
      f"held at once by DropConnectLinear: about {chunk_mib:.0f} MiB")

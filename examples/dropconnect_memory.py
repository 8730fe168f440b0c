"""DropConnect in a classifier, and the per-example masks the layer never stores.

Run: python examples/dropconnect_memory.py   (about 10 s on one core)
"""

import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

from skgates import DropConnectClassifier
from skgates.nn import DropConnectLinear
from skgates.nn.dropconnect import DEFAULT_CHUNK_ELEMENTS


def main():
    torch.set_num_threads(1)
    # 800 rows (400 to train), 30 columns of which 4 are informative: easy to overfit
    X, y = make_classification(800, 30, n_informative=4, n_redundant=0, shuffle=False,
                               flip_y=0.05, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=400, random_state=0)
    for p in (0.0, 0.5):
        clf = DropConnectClassifier(hidden_layer_sizes=(128,), p=p, max_epochs=60,
                                    random_state=0).fit(X_train, y_train)
        top = sorted(clf.feature_importances_.argsort()[-4:].tolist())
        print(f"p={p}: train accuracy {clf.score(X_train, y_train):.3f}, "
              f"test accuracy {clf.score(X_test, y_test):.3f}, top-4 columns {top}")

    # one training step of a wide layer: every row has its own 512 x 512 mask
    layer = DropConnectLinear(512, 512, p=0.5)
    x = torch.randn(512, 512, requires_grad=True)
    layer(x).sum().backward()
    masks_mib = 512 * 512 * 512 * 4 / 2**20
    chunk_mib = DEFAULT_CHUNK_ELEMENTS["cpu"] * 4 / 2**20
    print(f"masks of one step as float32: {masks_mib:.0f} MiB; held at once by "
          f"DropConnectLinear: about {chunk_mib:.0f} MiB (one chunk of rows, drawn again "
          "in backward from a saved seed)")
    # a single row: the weight gradient is non-zero exactly where the weight was kept
    layer.weight.grad = None
    layer(torch.ones(1, 512)).sum().backward()
    kept = (layer.weight.grad != 0).float().mean().item()
    print(f"fraction of weights kept for one row: {kept:.3f} (1 - p = 0.5)")

if __name__ == "__main__":
    main()

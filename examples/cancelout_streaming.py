"""CancelOutSelector on a stream: partial_fit chunk by chunk, then select.

Syn2 (y depends on x3..x6) with 20 noise columns arrives in chunks of 500 rows; after three
passes over the stream the selector keeps the four relevant columns.
"""

import numpy as np

from skgates import CancelOutSelector
from skgates.datasets import make_syn


def main():
    X, y, relevant = make_syn("syn2", n_samples=6000, n_noise=20, random_state=0)
    selector = CancelOutSelector(max_features=4, random_state=0)
    for _ in range(3):
        for X_chunk, y_chunk in zip(np.array_split(X, 12), np.array_split(y, 12)):
            selector.partial_fit(X_chunk, y_chunk, classes=[0, 1])
    kept = selector.get_support(indices=True)
    print("kept columns:    ", kept.tolist())
    print("relevant columns:", relevant.tolist())
    print("gate values of the kept columns:", selector.feature_importances_[kept].round(2).tolist())


if __name__ == "__main__":
    main()

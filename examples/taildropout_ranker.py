"""Order the columns of Syn3 with TailDropoutRanker and read how many are needed.

Syn3 (TabNet paper): y depends on x7..x10 (0-based columns 6..9) through
``-10 sin(0.2 x7) + |x8| + x9 + exp(-x10)``; 16 noise columns are appended.
The ranker puts the four relevant columns first (6,000 rows), picks ``n_features_`` at the
knee, and its scree curve shows the held-out loss of every prefix of the order.

Run: ``python examples/taildropout_ranker.py`` (about 10 s of CPU on one core).
"""

import torch

from skgates import TailDropoutRanker
from skgates.datasets import make_syn


def main():
    torch.set_num_threads(1)
    X, y, relevant = make_syn("syn3", n_samples=6000, n_noise=16, random_state=0)
    # From 5,000 rows on, one hold-out split scores the columns (below, 5 cross-fitted scouts).
    ranker = TailDropoutRanker(random_state=0).fit(X, y)

    print("relevant columns:        ", sorted(relevant.tolist()))
    print("order (best first):      ", ranker.order_[:8].tolist(), "...")
    print("n_features_ (the knee):  ", ranker.n_features_)
    print("selected:                ", ranker.get_support(indices=True).tolist())
    print("\nscree curve (held-out cross-entropy with the first k columns):")
    print(ranker.scree_curve_.head(8).to_string(index=False))
    # With matplotlib: ranker.scree_curve_.plot(x="k", y="validation_loss")


if __name__ == "__main__":
    main()

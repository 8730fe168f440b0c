"""
CancelOut on a stream: the gates while ``partial_fit`` reads the chunks
=======================================================================

:class:`~skgates.CancelOutSelector` learns from a stream: every ``partial_fit`` call
trains one pass over a chunk of rows (the first call builds the network and its input
standardisation, later calls update both). Here Syn2 (``y`` depends on the squares of
columns 2-5) with 12 noise columns arrives in chunks of 400 rows, read twice.

The gates learn ten times as fast as the network behind them here
(``gate_lr_scale=10``), so two passes over a short stream separate them. The figure
follows each column's gate after every chunk: the four relevant gates stay open while
the noise gates close.
"""

import matplotlib.pyplot as plt
import numpy as np

from skgates import CancelOutSelector
from skgates.datasets import make_syn

X, y, relevant = make_syn("syn2", n_samples=4000, n_noise=12, random_state=0)
selector = CancelOutSelector(max_features=4, gate_lr_scale=10.0, random_state=0)
gates = []
for _ in range(2):
    for X_chunk, y_chunk in zip(np.array_split(X, 10), np.array_split(y, 10)):
        selector.partial_fit(X_chunk, y_chunk, classes=[0, 1])
        gates.append(selector.feature_importances_)
gates = np.array(gates)

fig, ax = plt.subplots()
chunks = np.arange(1, len(gates) + 1)
for j in range(X.shape[1]):
    if j in relevant:
        ax.plot(chunks, gates[:, j], linewidth=2, label=f"x{j} (relevant)")
    else:
        ax.plot(chunks, gates[:, j], color="0.7", linewidth=0.8)
ax.plot([], [], color="0.7", label="noise columns")
ax.set(xlabel="chunks read (400 rows each)", ylabel="gate value",
       title="CancelOut gates while streaming Syn2")
ax.legend(fontsize="small")

print("kept columns:    ", selector.get_support(indices=True).tolist())
print("relevant columns:", relevant.tolist())

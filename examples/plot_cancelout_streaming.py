"""
CancelOut on a stream: the gates while ``partial_fit`` reads the chunks
=======================================================================

:class:`~skgates.CancelOutSelector` learns from a stream: every ``partial_fit`` call
trains ``partial_fit_epochs`` (10) passes over a chunk of rows (the first call builds
the network and its input standardisation, later calls update both). Here Syn2 (``y``
depends on the squares of columns 2-5) with 12 noise columns arrives in 10 chunks of
400 rows, each read once by one call.

Each chunk also trains the selector's shadow columns: the chunk's columns with their
rows shuffled. A column is kept when its gate is more open than every shadow's gate
(``threshold_``, the dashed line). The figure follows each column's gate after every
chunk: the four relevant gates open above the line while the noise gates fall below it.
"""

import matplotlib.pyplot as plt
import numpy as np

from skgates import CancelOutSelector
from skgates.datasets import make_syn

X, y, relevant = make_syn("syn2", n_samples=4000, n_noise=12, random_state=0)
selector = CancelOutSelector(random_state=0)
gates, thresholds = [], []
for X_chunk, y_chunk in zip(np.array_split(X, 10), np.array_split(y, 10)):
    selector.partial_fit(X_chunk, y_chunk, classes=[0, 1])
    gates.append(selector.feature_importances_)
    thresholds.append(selector.threshold_)
gates = np.array(gates)

fig, ax = plt.subplots()
chunks = np.arange(1, len(gates) + 1)
for j in range(X.shape[1]):
    if j in relevant:
        ax.plot(chunks, gates[:, j], linewidth=2, label=f"x{j} (relevant)")
    else:
        ax.plot(chunks, gates[:, j], color="0.7", linewidth=0.8)
ax.plot([], [], color="0.7", label="noise columns")
ax.plot(chunks, thresholds, color="black", linestyle="--", label="most open shadow gate")
ax.set(xlabel="chunks read (400 rows each)", ylabel="gate value",
       title="CancelOut gates while streaming Syn2")
ax.legend(fontsize="small")

print("kept columns:    ", selector.get_support(indices=True).tolist())
print("relevant columns:", relevant.tolist())

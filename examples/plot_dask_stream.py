"""
Selecting features on a stream too large for memory, from a dask DataFrame
==========================================================================

A data set that does not fit in memory arrives as a `dask DataFrame
<https://docs.dask.org/en/stable/dataframe.html>`_: a lazy table cut into partitions
(here 20 of 10,000 rows, each made on demand, as ``dd.read_parquet`` or ``dd.read_csv``
would read one file). Nothing is loaded until a partition is computed, so the loop below
holds one partition at a time, and :meth:`CancelOutSelector.partial_fit
<skgates.CancelOutSelector.partial_fit>` trains one pass over each. The first call builds
the network and its input standardisation (``classes`` names every label the stream will
hold); the later calls update both.

The data are Syn2 (``y`` depends on the squares of ``x2`` to ``x5``) with 12 noise
columns. Under a ``dask.distributed.Client`` the same loop reads the partitions on the
cluster's workers; dask-ml's ``Incremental`` wrapper runs the same sequence of
``partial_fit`` calls (see :doc:`/scaling`).
"""

import time

import dask
import dask.dataframe as dd
import matplotlib.pyplot as plt
import pandas as pd

from skgates import CancelOutSelector
from skgates.datasets import make_syn
from skgates.plotting import ImportanceDisplay

N_PARTITIONS, ROWS_PER_PARTITION, N_NOISE = 20, 10_000, 12
COLUMNS = [f"x{j}" for j in range(11 + N_NOISE)]


def load_partition(seed):
    """One partition of the stream: what reading one file would return."""
    X, y, _ = make_syn("syn2", n_samples=ROWS_PER_PARTITION, n_noise=N_NOISE,
                       random_state=seed)
    return pd.DataFrame(X, columns=COLUMNS).assign(y=y)


ddf = dd.from_map(load_partition, range(N_PARTITIONS))
print(f"{ddf.npartitions} partitions, {N_PARTITIONS * ROWS_PER_PARTITION:,} rows, "
      f"{len(COLUMNS)} columns; none loaded yet")

# %%
# One pass over the stream, one partition in memory at a time
# -----------------------------------------------------------
# ``ddf.partitions[i].compute()`` loads partition ``i`` only (``ddf.to_delayed()`` gives
# the same partitions as delayed objects). The synchronous scheduler keeps the example
# on one core; drop the ``dask.config.set`` line to use dask's default scheduler or a
# cluster.

selector = CancelOutSelector(max_features=4, random_state=0)
start = time.perf_counter()
with dask.config.set(scheduler="synchronous"):
    for i in range(ddf.npartitions):
        part = ddf.partitions[i].compute()
        selector.partial_fit(part.drop(columns="y"), part["y"], classes=[0, 1])
print(f"one pass in {time.perf_counter() - start:.1f} s")
print("kept:", list(selector.get_feature_names_out()), "(relevant: x2, x3, x4, x5)")

# %%
# The gates after the stream
# --------------------------
# Every bar is a column's gate value (its importance); the four columns ``y`` depends on
# keep their gates open, the noise columns' gates close.

display = ImportanceDisplay.from_estimator(selector, max_display=None,
                                           name="CancelOutSelector after one pass")
display.ax_.set_xlabel(f"gate value after {N_PARTITIONS} partitions "
                       f"({N_PARTITIONS * ROWS_PER_PARTITION:,} rows)")
plt.show()

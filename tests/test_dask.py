"""skgates on a dask cluster: joblib's dask backend, and dask DataFrames streamed to partial_fit.

The cluster is a ``dask.distributed.LocalCluster`` of 2 worker *processes* with one thread
each, shared by the module. Processes, not threads: skgates seeds torch's global RNG around
each fit (``skgates._seeding.torch_seeded``), and two fits running in threads of one
process draw from each other's stream, so a threaded cluster (``processes=False``) gives
results that differ from run to run (measured: 5 of 10 stability selections on a threaded
LocalCluster differed from the serial one). Worker processes start in a few seconds.

Skipped without ``dask[distributed]``; dask-ml's ``Incremental`` is tested when dask-ml is
installed.
"""

import logging

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("dask.distributed")
dd = pytest.importorskip("dask.dataframe")

import joblib  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from skgates import CancelOutSelector, StabilitySelector  # noqa: E402
from skgates.datasets import make_syn  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        with distributed.Client(cluster) as client:
            yield client


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The serial reference runs with one torch thread, as dask's workers do.

    dask's nanny starts its workers with ``OMP_NUM_THREADS=1``; the same number of threads
    here keeps the comparison bit for bit on machines with more cores.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data():
    X, y, relevant = make_syn("syn2", n_samples=300, n_noise=4, random_state=0)
    return X, y, relevant


def _ran_on_the_cluster(tasks):
    """Whether the task stream recorded work on more than one worker."""
    return len({task["worker"] for task in tasks.data}) == 2


def test_grid_search_over_a_pipeline_gives_the_same_result_on_dask(client, data):
    X, y, _ = data
    grid = {"canceloutselector__max_features": [2, 4],
            "canceloutselector__lambda_1": [1e-3, 3e-2]}

    def search(n_jobs):
        pipe = make_pipeline(CancelOutSelector(max_epochs=3, random_state=0),
                             LogisticRegression())
        return GridSearchCV(pipe, grid, cv=3, n_jobs=n_jobs).fit(X, y)

    local = search(n_jobs=1)
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        remote = search(n_jobs=-1)
    assert _ran_on_the_cluster(tasks)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(remote.best_estimator_[0].feature_importances_,
                                  local.best_estimator_[0].feature_importances_)


def test_stability_selection_gives_the_same_probabilities_on_dask(client, data):
    X, y, _ = data

    def stability(n_jobs):
        return StabilitySelector(CancelOutSelector(max_epochs=3), n_resamples=4, n_jobs=n_jobs,
                                 random_state=0).fit(X, y)

    local = stability(n_jobs=1)
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        remote = stability(n_jobs=-1)
    assert _ran_on_the_cluster(tasks)
    np.testing.assert_array_equal(remote.probabilities_, local.probabilities_)
    np.testing.assert_array_equal(remote.feature_importances_, local.feature_importances_)
    np.testing.assert_array_equal(remote.get_support(), local.get_support())


# ------------------------------------------------------------------ streams
N_ROWS, N_PARTITIONS, N_PASSES = 2000, 5, 2


@pytest.fixture(scope="module")
def stream():
    X, y, relevant = make_syn("syn2", n_samples=N_ROWS, n_noise=6, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]).assign(y=y)
    return frame, relevant


def _selector():
    # The gates learn 10x as fast as the network: two passes over 2,000 rows separate them.
    return CancelOutSelector(max_features=4, gate_lr_scale=10.0, random_state=0)


def _pandas_chunks(frame):
    """The same chunks as the dask partitions, cut from the pandas frame."""
    size = len(frame) // N_PARTITIONS
    return [frame.iloc[start:start + size] for start in range(0, len(frame), size)]


def _fit_on_pandas(frame):
    selector = _selector()
    for _ in range(N_PASSES):
        for chunk in _pandas_chunks(frame):
            selector.partial_fit(chunk.drop(columns="y"), chunk["y"], classes=[0, 1])
    return selector


def test_partial_fit_over_dask_partitions_selects_what_the_pandas_chunks_select(client, stream):
    frame, relevant = stream
    ddf = dd.from_pandas(frame, npartitions=N_PARTITIONS)
    assert [len(chunk) for chunk in _pandas_chunks(frame)] == list(
        ddf.map_partitions(len).compute())

    # The documented loop (docs/scaling.md): one partition in memory at a time.
    by_index = _selector()
    for _ in range(N_PASSES):
        for i in range(ddf.npartitions):
            part = ddf.partitions[i].compute()
            by_index.partial_fit(part.drop(columns="y"), part["y"], classes=[0, 1])
    by_delayed = _selector()
    for _ in range(N_PASSES):
        for part in ddf.to_delayed():
            part = part.compute()
            by_delayed.partial_fit(part.drop(columns="y"), part["y"], classes=[0, 1])

    reference = _fit_on_pandas(frame)
    for selector in (by_index, by_delayed):
        np.testing.assert_array_equal(selector.feature_importances_,
                                      reference.feature_importances_)
        np.testing.assert_array_equal(selector.get_support(), reference.get_support())
        assert list(selector.feature_names_in_) == list(frame.columns[:-1])
    assert sorted(reference.get_support(indices=True)) == sorted(relevant)


def _no_score(estimator, X, y):
    """A scorer for ``Incremental``: it asks for one, and a selector has no ``score``."""
    return 0.0


def test_dask_ml_incremental_selects_what_the_pandas_chunks_select(client, stream):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    frame, relevant = stream
    ddf = dd.from_pandas(frame, npartitions=N_PARTITIONS)
    X = ddf.drop(columns="y").to_dask_array(lengths=True)
    y = ddf["y"].to_dask_array(lengths=True)
    # shuffle_blocks=False: the blocks in order, as the pandas loop reads them. scoring:
    # Incremental checks for a scorer at fit, and CancelOutSelector has no score().
    incremental = wrappers.Incremental(_selector(), shuffle_blocks=False, scoring=_no_score)
    incremental.fit(X, y, classes=[0, 1])
    for _ in range(N_PASSES - 1):
        incremental.partial_fit(X, y, classes=[0, 1])
    reference = _fit_on_pandas(frame)
    selector = incremental.estimator_
    np.testing.assert_array_equal(selector.feature_importances_, reference.feature_importances_)
    np.testing.assert_array_equal(selector.get_support(), reference.get_support())
    kept = incremental.transform(X).compute()
    np.testing.assert_array_equal(kept, frame.to_numpy()[:, sorted(relevant)])

"""The main job, ``python -m skgates``."""

import numpy as np
import pandas as pd
import pytest

from skgates.__main__ import main
from skgates.rankers import RANKERS


@pytest.fixture
def csv_path(tmp_path):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.standard_normal((400, 5)), columns=["a", "b", "c", "d", "e"])
    frame["label"] = np.where(frame["c"] + 0.5 * frame["e"] > 0, "yes", "no")
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_ranks_a_csv_and_prints_a_table_with_probes(csv_path, capsys):
    assert main([str(csv_path), "--target", "label", "--probes", "5",
                 "--selectors", "CancelOutSelector", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "400 rows, 10 columns (5 of them noise probes)" in out
    lines = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [line[0] for line in lines[:3]] == ["1", "2", "3"]
    assert lines[0][1] == "c"  # the strongest column ranks first
    assert "real columns rank above every noise probe" in out


def test_regression_targets_use_the_regressors(tmp_path, capsys):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.standard_normal((300, 4)), columns=list("pqrs"))
    frame["target"] = 3.0 * frame["q"] + 0.1 * rng.standard_normal(300)
    path = tmp_path / "reg.csv"
    frame.to_csv(path, index=False)
    assert main([str(path), "--target", "target", "--selectors", "DropConnect", "--top", "1"]) == 0
    first = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("1 ")]
    assert first[0][1] == "q"


def test_missing_target_and_unknown_selector_are_named(csv_path):
    with pytest.raises(SystemExit, match="--target is required"):
        main([str(csv_path)])
    with pytest.raises(SystemExit, match="column 'nope' is not in"):
        main([str(csv_path), "--target", "nope"])
    with pytest.raises(SystemExit, match=r"unknown selectors \['Lasso'\]"):
        main([str(csv_path), "--target", "label", "--selectors", "Lasso"])


def test_every_ranker_returns_one_importance_per_column():
    rng = np.random.RandomState(1)
    X = rng.standard_normal((120, 4))
    y = (X[:, 0] > 0).astype(int)
    for name, rank in RANKERS.items():
        importances = rank(X, y, 0)
        assert importances.shape == (4,), name
        assert np.all(importances >= 0), name

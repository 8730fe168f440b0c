"""The main job, ``python -m skgates``: the decision table, the report and the bad input.

Every run here uses a tiny budget (``--n-resamples 2`` or 3, ``--max-epochs 10``,
``--n-jobs 1``) on a few hundred rows, so the file takes seconds.
"""

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from skgates.__main__ import main
from skgates.datasets import add_probes
from skgates.rankers import SELECTORS, select

TINY = ["--n-resamples", "3", "--max-epochs", "10", "--n-jobs", "1", "--quiet"]


@pytest.fixture
def frame():
    rng = np.random.RandomState(0)
    data = pd.DataFrame(rng.standard_normal((300, 4)), columns=["a", "b", "c", "d"])
    data["label"] = np.where(data["c"] + 0.5 * data["a"] + 0.3 * rng.standard_normal(300) > 0,
                             "yes", "no")
    return data


@pytest.fixture
def csv_path(tmp_path, frame):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def _table(out):
    """The decision table's lines, split into cells (two or more spaces apart)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("column "))
    end = lines.index("", start)
    return [re.split(r"\s{2,}", line.strip()) for line in lines[start:end]]


def test_the_table_shows_every_column_with_the_rules_verdicts(csv_path, frame, capsys):
    assert main([str(csv_path), "--target", "label", "--probes", "4",
                 "--selectors", "CancelOutSelector,RandomForest", *TINY]) == 0
    out = capsys.readouterr().out
    assert "300 rows, 8 columns (4 real + 4 noise probes); classification (2 classes)" in out
    table = _table(out)
    assert table[0] == ["column", "CancelOut", "RandomForest", "by S", "by F"]
    rows = {row[0]: row for row in table[2:]}
    assert list(rows)[:2] == ["c", "a"]  # the columns the label depends on, strongest first
    assert set(list(rows)[:4]) == {"a", "b", "c", "d"}  # the real columns first
    assert list(rows)[4] == "4 noise probes, highest P"  # then the probes, summarised

    # The numbers are those of the decision rules run directly with the same budget.
    X, _ = add_probes(frame.drop(columns="label"), 4, random_state=0)
    y = frame["label"].to_numpy()
    gates = select("CancelOutSelector", X, y, n_resamples=3, max_epochs=10, n_jobs=1,
                   random_state=0)
    forest = select("RandomForest", X, y, n_resamples=3, n_jobs=1, random_state=0)
    for j, name in enumerate(["a", "b", "c", "d"]):
        for position, selection in ((1, gates), (2, forest)):
            p = selection.stability.probabilities_[j]
            marks = ("S" if selection.stability.get_support()[j] else "") + (
                "F" if selection.fdr.get_support()[j] else "")
            assert rows[name][position] == f"{p:.2f} {marks}".rstrip(), name
        n_stable = sum(int(s.stability.get_support()[j]) for s in (gates, forest))
        n_fdr = sum(int(s.fdr.get_support()[j]) for s in (gates, forest))
        assert rows[name][3:] == [f"{n_stable}/2", f"{n_fdr}/2"], name
    assert rows["c"][2] == "1.00 SF"  # the column that decides the label is kept by both rules
    probes = forest.stability.probabilities_[4:]
    assert rows["4 noise probes, highest P"][2].startswith(f"{probes.max():.2f}")

    # The legend and one summary line per selector, with the probes counted.
    assert "P  fraction of 6 fits" in out
    assert "S  kept by stability selection: P >= 0.75" in out
    assert "F  kept by the held-out swap test with Benjamini-Hochberg at false discovery" in out
    summary = {line.split()[0]: line for line in out.splitlines()
               if line.split()[:1] in (["CancelOutSelector"], ["RandomForest"])}
    kept = int(forest.stability.get_support().sum())
    kept_probes = int(forest.stability.get_support()[4:].sum())
    assert re.search(rf"RandomForest\s+{kept} kept, {kept_probes} probes?\s+"
                     rf"{int(forest.fdr.get_support().sum())} kept", summary["RandomForest"])
    assert re.search(rf"CancelOutSelector\s+{int(gates.stability.get_support().sum())} kept",
                     summary["CancelOutSelector"])


def test_regression_targets_use_the_regressors(tmp_path, capsys):
    rng = np.random.RandomState(0)
    data = pd.DataFrame(rng.standard_normal((240, 4)), columns=list("pqrs"))
    data["target"] = 3.0 * data["q"] + 0.1 * rng.standard_normal(240)
    path = tmp_path / "reg.csv"
    data.to_csv(path, index=False)
    assert main([str(path), "--target", "target", "--selectors", "DropConnect",
                 "--n-resamples", "2", "--max-epochs", "5", "--n-jobs", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "240 rows, 4 columns; regression" in out
    table = _table(out)
    assert table[2][0] == "q" and table[2][1].startswith("1.00 S")
    assert "more columns" not in out and "probes" not in out.split("selector")[0]


def test_progress_goes_to_stderr_unless_quiet(csv_path, capsys):
    args = [str(csv_path), "--target", "label", "--selectors", "RandomForest",
            "--n-resamples", "2", "--n-jobs", "1"]
    main(args)
    captured = capsys.readouterr()
    assert "[1/1] RandomForest: 4 fits on random halves, then the FDR test" in captured.err
    assert "StabilitySelector fits" in captured.err  # the bar over the fits
    assert "[1/1]" not in captured.out
    main(args + ["--quiet"])
    assert capsys.readouterr().err == ""


def test_report_is_one_page_with_the_table_and_the_figures(csv_path, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    report = tmp_path / "report.html"
    assert main([str(csv_path), "--target", "label", "--probes", "3", "--selectors",
                 "RandomForest,CancelOutSelector", "--report", str(report), *TINY]) == 0
    assert f"Report written to {report}" in capsys.readouterr().out
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert '<table class="decision">' in page
    assert "<th>RandomForest</th>" in page and "<th>CancelOut</th>" in page
    assert "<td>c</td>" in page and "3 noise probes, highest P" in page
    assert "<dt>P</dt><dd>fraction of 6 fits" in page and "<dt>S</dt>" in page  # the legend
    # One figure per selector, embedded: the page needs no other file.
    assert page.count('<img alt="') == 2
    assert page.count('src="data:image/png;base64,') == 2
    assert "src=\"http" not in page and "<link" not in page


def test_the_default_run_does_not_need_matplotlib(csv_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from skgates.__main__ import main\n"
            f"sys.exit(main([{str(csv_path)!r}, '--target', 'label', '--selectors', "
            "'RandomForest', '--n-resamples', '2', '--n-jobs', '1', '--quiet']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "RandomForest" in done.stdout


def _fails(args, capsys, *messages):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing ran
    for message in messages:
        assert message in captured.err, captured.err
    return captured.err


def test_bad_input_gets_a_clear_message_and_exit_code_2(csv_path, tmp_path, capsys):
    good = [str(csv_path), "--target", "label"]
    _fails(good + ["--n-jobs", "0"], capsys, "--n-jobs", "must be >= 1", "or -1", "got 0")
    _fails(good + ["--n-jobs", "-3"], capsys, "--n-jobs", "got -3")
    _fails(good + ["--selectors", "Lasso"], capsys, "unknown selectors ['Lasso']",
           ", ".join(SELECTORS))
    _fails([str(csv_path)], capsys, "--target is required with a CSV path")
    _fails([str(csv_path), "--target", "nope"], capsys,
           "column 'nope' is not in", "a, b, c, d, label")
    _fails([str(tmp_path / "missing.csv"), "--target", "label"], capsys, "cannot read")
    _fails(["--target", "label"], capsys, "give the CSV path too")
    _fails(good + ["--probes", "-1"], capsys, "--probes", "must be >= 0")


def test_an_unwritable_report_path_fails_before_the_work(csv_path, tmp_path, capsys,
                                                          monkeypatch):
    pytest.importorskip("matplotlib")
    good = [str(csv_path), "--target", "label"]
    _fails(good + ["--report", str(tmp_path / "no" / "such" / "dir" / "r.html")], capsys,
           "--report", "cannot be written", "No such file or directory")
    _fails(good + ["--report", str(tmp_path)], capsys, "is a directory")
    target = tmp_path / "fresh.html"
    monkeypatch.setattr("skgates.__main__._load", lambda *a: pytest.fail("work started"))
    with pytest.raises(pytest.fail.Exception, match="work started"):
        main(good + ["--report", str(target)])
    assert not target.exists()  # the check leaves no empty file behind


def test_a_report_without_matplotlib_says_how_to_install_it(csv_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    _fails([str(csv_path), "--target", "label", "--report", "r.html"], capsys,
           "matplotlib", "pip install skgates[plot]")


def test_non_numeric_or_missing_values_are_named(tmp_path, frame, capsys):
    frame = frame.assign(colour=["red", "blue"] * 150)
    path = tmp_path / "text.csv"
    frame.to_csv(path, index=False)
    _fails([str(path), "--target", "label"], capsys, "['colour']", "not numeric")
    frame = frame.drop(columns="colour")
    frame.loc[3, "b"] = np.nan
    frame.to_csv(path, index=False)
    _fails([str(path), "--target", "label"], capsys, "['b']", "missing values")


def test_help_states_the_budget_and_every_option(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--report", "--n-jobs", "--n-resamples", "--max-epochs", "--probes",
                   "--selectors", "--target", "--random-state", "--quiet"):
        assert option in out
    assert "about a minute on 2 cores" in " ".join(out.split())
    for name in SELECTORS:
        assert name in out

"""matplotlib stays optional: skgates never imports it, and a Display says how to install it."""

import subprocess
import sys

import numpy as np
import pytest

from skgates.plotting import (
    ImportanceDisplay, ScreeDisplay, StabilityPathDisplay, TabNetMaskDisplay,
    TrainingHistoryDisplay,
)


def test_importing_skgates_does_not_import_matplotlib():
    code = ("import sys, skgates, skgates.plotting; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("draw", [
    lambda: ImportanceDisplay([0.1, 0.2]).plot(),
    lambda: ScreeDisplay([0.5, 0.4]).plot(),
    lambda: StabilityPathDisplay(np.zeros((1, 2)), [1]).plot(),
    lambda: TabNetMaskDisplay(np.zeros((1, 2)), np.zeros((1, 1, 2))).plot(),
    lambda: ImportanceDisplay.from_estimator(object()),
    lambda: TrainingHistoryDisplay.from_estimator(object()),
])
def test_missing_matplotlib_says_how_to_install_it(monkeypatch, draw):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    with pytest.raises(ImportError, match=r"pip install skgates\[plot\]"):
        draw()

"""TrainingHistoryDisplay draws history_ and marks the epoch of the best validation loss."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from skgates import DropConnectRegressor
from skgates.plotting import TrainingHistoryDisplay


def test_lines_are_the_history_and_the_best_epoch_is_marked(cancelout):
    history = cancelout.history_
    display = TrainingHistoryDisplay.from_estimator(cancelout)
    np.testing.assert_array_equal(display.train_line_.get_xdata(), history["epoch"])
    np.testing.assert_allclose(display.train_line_.get_ydata(), history["train_loss"])
    np.testing.assert_allclose(display.valid_line_.get_ydata(), history["valid_loss"])
    best = int(history["epoch"][history["valid_loss"].idxmin()])
    assert display.best_epoch_ == best
    assert display.best_line_.get_xdata()[0] == best
    assert display.figure_ is display.ax_.figure


def test_without_validation_loss():
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [3.0, 2.0, 1.0]})
    display = TrainingHistoryDisplay(history).plot(log_scale=True)
    assert display.valid_line_ is None and display.best_epoch_ is None
    assert display.ax_.get_yscale() == "log"


def test_history_columns_are_checked():
    with pytest.raises(ValueError, match="train_loss"):
        TrainingHistoryDisplay(pd.DataFrame({"epoch": [1]})).plot()


def test_unfitted_estimator_names_the_attribute():
    with pytest.raises(NotFittedError, match="history_"):
        TrainingHistoryDisplay.from_estimator(DropConnectRegressor())


def test_estimator_without_history_names_the_attribute():
    from sklearn.linear_model import LinearRegression

    fitted = LinearRegression().fit(np.eye(3), [1.0, 2.0, 3.0])
    with pytest.raises(AttributeError, match="history_.*LinearRegression"):
        TrainingHistoryDisplay.from_estimator(fitted)

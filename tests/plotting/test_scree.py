"""ScreeDisplay draws TailDropoutRanker's scree curve and marks the chosen k."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skgates import TailDropoutRanker
from skgates.plotting import ScreeDisplay


def test_curve_is_the_scree_and_the_knee_is_marked(ranker):
    display = ScreeDisplay.from_estimator(ranker)
    np.testing.assert_array_equal(display.line_.get_xdata(), np.arange(len(ranker.scree_)))
    np.testing.assert_allclose(display.line_.get_ydata(), ranker.scree_)
    k = ranker.n_features_
    assert display.knee_line_.get_xdata()[0] == k
    assert display.knee_marker_.get_xdata()[0] == k
    assert display.knee_marker_.get_ydata()[0] == pytest.approx(ranker.scree_[k])
    ticks = [t.get_text() for t in display.ax_.get_xticklabels()]
    assert ticks == ["none"] + [f"+x{j}" for j in ranker.order_]
    assert f"chosen k = {k}" in [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert display.figure_ is display.ax_.figure


def test_plain_curve_without_names_or_knee():
    display = ScreeDisplay([0.7, 0.4, 0.3]).plot()
    assert display.knee_line_ is None and display.knee_marker_ is None
    assert display.ax_.get_xlabel() == "k: the first k ranked columns"


def test_bad_knee():
    with pytest.raises(ValueError, match="n_features_selected"):
        ScreeDisplay([0.7, 0.4, 0.3], n_features_selected=3).plot()


def test_unfitted_ranker_names_the_attribute():
    with pytest.raises(NotFittedError, match="scree_"):
        ScreeDisplay.from_estimator(TailDropoutRanker())


def test_estimator_without_scree_names_the_attribute(cancelout):
    with pytest.raises(AttributeError, match="scree_.*CancelOutSelector.*TailDropoutRanker"):
        ScreeDisplay.from_estimator(cancelout)

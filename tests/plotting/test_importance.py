"""ImportanceDisplay draws the estimator's importances, spread, threshold and probes."""

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from skgates import CancelOutSelector
from skgates.plotting import ImportanceDisplay


def _widths(display):
    return np.array([bar.get_width() for bar in display.bars_])


def _labels(display):
    return [t.get_text() for t in display.ax_.get_yticklabels()]


def _x_range(span):
    """Data x-range of an ``axvspan`` patch (a Rectangle in matplotlib >= 3.9, else a Polygon)."""
    if hasattr(span, "get_width"):
        return span.get_x(), span.get_x() + span.get_width()
    xs = np.asarray(span.get_xy())[:, 0]
    return xs.min(), xs.max()


def test_bars_are_the_sorted_importances_with_their_names(cancelout, syn2_frame):
    X, _ = syn2_frame
    display = ImportanceDisplay.from_estimator(cancelout, max_display=5)
    importances = cancelout.feature_importances_
    top = np.argsort(-importances, kind="stable")[:5]
    np.testing.assert_allclose(_widths(display), importances[top])
    # the most important bar is on top: y positions decrease down the order
    assert [bar.get_y() for bar in display.bars_] == sorted(
        (bar.get_y() for bar in display.bars_), reverse=True)
    assert _labels(display) == list(X.columns[top])  # top to bottom
    np.testing.assert_array_equal(display.shown_, top)
    assert display.figure_ is display.ax_.figure
    assert f"5 most important of {X.shape[1]} columns" in display.ax_.get_xlabel()
    assert display.ax_.get_title() == "CancelOutSelector: feature importances"


def test_max_display_none_draws_every_column(cancelout):
    display = ImportanceDisplay.from_estimator(cancelout, max_display=None)
    assert len(display.bars_) == cancelout.n_features_in_
    np.testing.assert_allclose(np.sort(_widths(display)), np.sort(cancelout.feature_importances_))


def test_selected_columns_are_coloured_and_others_grey(cancelout):
    display = ImportanceDisplay.from_estimator(cancelout, max_display=None)
    support = cancelout.get_support()
    for bar, j in zip(display.bars_, display.shown_):
        expected = to_rgba("C0") if support[j] else to_rgba("0.65")
        assert bar.get_facecolor() == pytest.approx(expected)


def test_threshold_line_of_a_cancelout_selector(cancelout, syn2_frame):
    display = ImportanceDisplay.from_estimator(cancelout)
    # threshold=None selects above the most open shadow gate
    assert display.threshold == cancelout.threshold_ == pytest.approx(
        cancelout.shadow_importances_.max())
    assert display.threshold_line_.get_xdata()[0] == display.threshold

    X, y = syn2_frame
    params = dict(max_epochs=1, random_state=0)
    mean = CancelOutSelector(threshold="1.5*mean", **params).fit(X, y)
    line = ImportanceDisplay.from_estimator(mean).threshold_line_
    assert line.get_xdata()[0] == pytest.approx(1.5 * mean.feature_importances_.mean())

    numeric = CancelOutSelector(threshold=0.6, **params).fit(X, y)
    assert ImportanceDisplay.from_estimator(numeric).threshold_line_.get_xdata()[0] == 0.6

    top_k = CancelOutSelector(max_features=3, **params).fit(X, y)
    assert ImportanceDisplay.from_estimator(top_k).threshold_line_ is None

    assert ImportanceDisplay.from_estimator(cancelout, threshold=None).threshold_line_ is None
    assert ImportanceDisplay.from_estimator(
        cancelout, threshold=0.3).threshold_line_.get_xdata()[0] == 0.3


def test_stability_selector_bars_have_their_spread_and_no_probability_line(syn2_frame):
    from sklearn.linear_model import LogisticRegression

    from skgates import StabilitySelector

    X, y = syn2_frame
    selector = StabilitySelector(LogisticRegression(), n_resamples=3, threshold=0.6,
                                 n_features_per_fit=3, random_state=0).fit(X, y)
    display = ImportanceDisplay.from_estimator(selector, max_display=None)
    assert display.threshold is None  # 0.6 is a probability, not an importance
    segments = display.errorbars_.lines[2][0].get_segments()
    np.testing.assert_allclose([(s[1, 0] - s[0, 0]) / 2 for s in segments],
                               selector.feature_importances_std_[display.shown_])


def test_threshold_that_does_not_explain_the_selection_is_not_drawn():
    class Inconsistent:
        feature_importances_ = np.array([0.1, 0.5, 0.9])
        threshold = 0.3

        def get_support(self):
            return np.array([True, False, False])

    assert ImportanceDisplay.from_estimator(Inconsistent()).threshold is None


def test_threshold_attribute_wins(cancelout):
    class WithThreshold:
        feature_importances_ = np.array([0.1, 0.5, 0.9])
        threshold_ = 0.42

    assert ImportanceDisplay.from_estimator(WithThreshold()).threshold == 0.42


def test_probe_band_spans_the_probe_importances(cancelout, syn2_frame):
    X, _ = syn2_frame
    probe_names = [c for c in X.columns if c.startswith("probe_")]
    probe_idx = [list(X.columns).index(c) for c in probe_names]
    values = cancelout.feature_importances_[probe_idx]

    by_name = ImportanceDisplay.from_estimator(cancelout, probes=probe_names, max_display=None)
    assert by_name.probe_band == pytest.approx((values.min(), values.max()))
    assert _x_range(by_name.probe_band_) == pytest.approx((values.min(), values.max()))
    hatched = {j for bar, j in zip(by_name.bars_, by_name.shown_) if bar.get_hatch()}
    assert hatched == set(probe_idx)

    by_index = ImportanceDisplay.from_estimator(cancelout, probes=probe_idx, probe_quantile=0.5)
    assert by_index.probe_band == pytest.approx((values.min(), np.median(values)))


def test_error_bars_from_the_spread_attribute(ranker):
    display = ImportanceDisplay.from_estimator(ranker, max_display=None)
    order = display.shown_
    segments = display.errorbars_.lines[2][0].get_segments()
    half_lengths = np.array([(s[1, 0] - s[0, 0]) / 2 for s in segments])
    np.testing.assert_allclose(half_lengths, ranker.shapley_std_errors_[order])
    centres = np.array([(s[1, 0] + s[0, 0]) / 2 for s in segments])
    np.testing.assert_allclose(centres, ranker.feature_importances_[order])
    assert _labels(display) == [f"x{j}" for j in order]


def test_feature_importances_std_is_preferred():
    class WithStd:
        feature_importances_ = np.array([0.2, 0.8])
        feature_importances_std_ = np.array([0.05, 0.1])
        shapley_std_errors_ = np.array([9.0, 9.0])

    display = ImportanceDisplay.from_estimator(WithStd())
    segments = display.errorbars_.lines[2][0].get_segments()
    assert [(s[1, 0] - s[0, 0]) / 2 for s in segments] == pytest.approx([0.1, 0.05])
    assert display.errorbars_ is not None and display.threshold_line_ is None


def test_draws_on_given_axes(cancelout):
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2)
    display = ImportanceDisplay.from_estimator(cancelout, ax=right)
    assert display.ax_ is right and display.figure_ is fig
    again = display.plot(ax=left, max_display=3)
    assert again.ax_ is left and len(again.bars_) == 3


def test_unfitted_estimator_names_the_attribute():
    with pytest.raises(NotFittedError, match="feature_importances_"):
        ImportanceDisplay.from_estimator(CancelOutSelector())


def test_estimator_without_importances_names_the_attribute():
    scaler = StandardScaler().fit(np.eye(3))
    with pytest.raises(AttributeError, match="feature_importances_.*StandardScaler"):
        ImportanceDisplay.from_estimator(scaler)


@pytest.mark.parametrize("probes, error, match", [
    (["no_such_column"], ValueError, "no_such_column"),
    ([99], ValueError, "out of range"),
    ([1.5], TypeError, "indices or names"),
    ([], ValueError, "empty"),
])
def test_bad_probes(cancelout, probes, error, match):
    with pytest.raises(error, match=match):
        ImportanceDisplay.from_estimator(cancelout, probes=probes)


@pytest.mark.parametrize("kwargs, match", [
    (dict(probes=[0], probe_quantile=0), "probe_quantile"),
    (dict(max_display=0), "max_display"),
    (dict(threshold="mean"), "threshold"),
])
def test_bad_options(cancelout, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ImportanceDisplay.from_estimator(cancelout, **kwargs)

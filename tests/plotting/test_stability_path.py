"""StabilityPathDisplay draws one path per column, the selected ones labelled, and the threshold."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skgates.plotting import StabilityPathDisplay


def _check_drawn(display, selector):
    path, sizes = selector.stability_path_, selector.path_sizes_
    assert len(display.lines_) == path.shape[1]
    for j, line in enumerate(display.lines_):
        np.testing.assert_array_equal(line.get_xdata(), sizes)
        np.testing.assert_allclose(line.get_ydata(), path[:, j])
    assert display.threshold_line_.get_ydata()[0] == pytest.approx(selector.threshold)
    names = getattr(selector, "feature_names_in_",
                    np.array([f"x{j}" for j in range(path.shape[1])]))
    selected = selector.get_support(indices=True)
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend[:len(selected)] == [str(names[j]) for j in selected]
    for j in range(path.shape[1]):
        assert (display.lines_[j].get_linewidth() > 1) == (j in selected)


def test_lines_are_the_stability_path(stability_fake):
    assert stability_fake.get_support().sum() >= 1
    display = StabilityPathDisplay.from_estimator(stability_fake)
    _check_drawn(display, stability_fake)
    assert display.figure_ is display.ax_.figure
    assert display.ax_.get_ylabel() == "selection probability"


def test_unlabelled_and_on_given_axes(stability_fake):
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    display = StabilityPathDisplay.from_estimator(stability_fake, ax=ax, label_selected=False)
    assert display.ax_ is ax
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["threshold = 0.7"]


def test_missing_path_names_the_attribute(cancelout):
    with pytest.raises(AttributeError, match="stability_path_"):
        StabilityPathDisplay.from_estimator(cancelout)


def test_path_shape_is_checked():
    with pytest.raises(ValueError, match="stability_path"):
        StabilityPathDisplay(np.zeros((3, 4)), [1, 2]).plot()


def test_per_fit_line(stability_fake):
    stability_fake.n_features_per_fit_ = 2.0
    display = StabilityPathDisplay.from_estimator(stability_fake)
    assert display.per_fit_line_.get_xdata()[0] == 2.0
    assert StabilityPathDisplay(np.zeros((1, 2)), [1]).plot().per_fit_line_ is None


def test_real_stability_selector(syn2_frame):
    from sklearn.linear_model import LogisticRegression

    from skgates import StabilitySelector

    X, y = syn2_frame
    with pytest.raises(NotFittedError, match="stability_path_"):
        StabilityPathDisplay.from_estimator(StabilitySelector(LogisticRegression()))
    selector = StabilitySelector(LogisticRegression(), n_resamples=4, threshold=0.6,
                                 n_features_per_fit=3, random_state=0).fit(X, y)
    assert selector.get_support().any()
    display = StabilityPathDisplay.from_estimator(selector)
    _check_drawn(display, selector)
    assert display.per_fit_line_.get_xdata()[0] == 3
    k = list(selector.path_sizes_).index(3)  # the path at the selection's k is probabilities_
    np.testing.assert_allclose([line.get_ydata()[k] for line in display.lines_],
                               selector.probabilities_)

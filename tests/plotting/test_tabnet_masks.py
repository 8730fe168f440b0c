"""TabNetMaskDisplay draws explain()'s step masks and aggregate as heat maps."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skgates import TabNetClassifier
from skgates.plotting import TabNetMaskDisplay


def test_panels_are_the_masks_and_the_aggregate(tabnet, syn2_frame):
    X, _ = syn2_frame
    rows = X.iloc[10:16]
    aggregate, masks = tabnet.explain(rows)
    display = TabNetMaskDisplay.from_estimator(tabnet, rows)
    assert len(display.axes_) == len(display.images_) == tabnet.n_steps + 1
    for i in range(tabnet.n_steps):
        np.testing.assert_allclose(display.images_[i].get_array(), masks[i])
        assert display.axes_[i].get_title() == f"step {i + 1}"
    np.testing.assert_allclose(display.images_[-1].get_array(), aggregate)
    assert display.ax_ is display.axes_[-1] and display.ax_.get_title() == "aggregate"
    assert [t.get_text() for t in display.axes_[0].get_xticklabels()] == list(X.columns)
    assert [t.get_text() for t in display.axes_[0].get_yticklabels()] == [str(i) for i in rows.index]
    vmax = max(masks.max(), aggregate.max())
    assert all(image.get_clim() == pytest.approx((0.0, vmax)) for image in display.images_)
    assert display.colorbar_ is not None and display.bounding_ax_ is None


def test_one_axes_is_split_and_axes_arrays_are_used(tabnet, syn2_frame):
    import matplotlib.pyplot as plt

    X, _ = syn2_frame
    fig, ax = plt.subplots()
    display = TabNetMaskDisplay.from_estimator(tabnet, X.iloc[:4], ax=ax)
    assert display.bounding_ax_ is ax and display.figure_ is fig
    assert len(display.axes_) == tabnet.n_steps + 1

    fig, axes = plt.subplots(1, tabnet.n_steps + 1)
    display = TabNetMaskDisplay.from_estimator(tabnet, X.iloc[:4], ax=axes)
    assert list(display.axes_) == list(axes)
    with pytest.raises(ValueError, match="expected 3 axes"):
        TabNetMaskDisplay.from_estimator(tabnet, X.iloc[:4], ax=axes[:2])


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="n_steps, n_rows, n_features"):
        TabNetMaskDisplay(np.zeros((2, 3)), np.zeros((2, 3, 4))).plot()


def test_unfitted_tabnet_names_the_attribute():
    with pytest.raises(NotFittedError, match="explain"):
        TabNetMaskDisplay.from_estimator(TabNetClassifier(), np.zeros((2, 3)))


def test_estimator_without_masks_names_the_attribute(cancelout, syn2_frame):
    X, _ = syn2_frame
    with pytest.raises(AttributeError, match="explain.*CancelOutSelector"):
        TabNetMaskDisplay.from_estimator(cancelout, X.iloc[:3])

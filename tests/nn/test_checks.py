"""The shared argument checks of skgates.nn: types, bounds and the wording estimators prefix."""

import numpy as np
import pytest

from skgates.nn._checks import check_int, check_module, check_option, check_real, check_sizes


def test_check_int():
    assert check_int(np.int64(3), "n_d", 1) == 3 and type(check_int(np.int64(3), "n_d")) is int
    with pytest.raises(ValueError, match=r"^virtual_batch_size must be an int >= 2, got 1\.$"):
        check_int(1, "virtual_batch_size", 2)
    for bad in (True, 2.0, "2", None):
        with pytest.raises(TypeError, match="n_steps must be an int >= 1, got "):
            check_int(bad, "n_steps", 1)
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 9\], got 10"):
        check_int(10, "seed", 0, 9)
    with pytest.raises(ValueError, match="k must be an int <= 3, got 4"):
        check_int(4, "k", max_val=3)


@pytest.mark.parametrize("kwargs, text", [
    ({}, "a finite number"),
    ({"low": 0}, "a finite number >= 0"),
    ({"low": 0, "low_open": True}, "a finite number > 0"),
    ({"high": 1}, "a finite number <= 1"),
    ({"low": 0, "high": 1, "high_open": True}, r"a number in \[0, 1\)"),
    ({"low": 0, "high": 1, "low_open": True}, r"a number in \(0, 1\]"),
])
def test_check_real_wording(kwargs, text):
    with pytest.raises(ValueError, match=rf"^x must be {text}, got nan\.$"):
        check_real(float("nan"), "x", **kwargs)
    with pytest.raises(TypeError, match=rf"^x must be {text}, got '1'\.$"):
        check_real("1", "x", **kwargs)


def test_check_real_bounds_and_types():
    assert check_real(np.float32(0.5), "p", 0, 1) == 0.5
    assert type(check_real(1, "gamma", low=1)) is float
    assert check_real(0, "p", 0, 1, high_open=True) == 0.0
    with pytest.raises(ValueError, match=r"p must be a number in \[0, 1\), got 1\.$"):
        check_real(1, "p", 0, 1, high_open=True)
    with pytest.raises(ValueError, match="lambda_1 must be a finite number >= 0, got inf"):
        check_real(float("inf"), "lambda_1", low=0)
    with pytest.raises(ValueError, match="init must be a finite number, got -inf"):
        check_real(float("-inf"), "init")
    with pytest.raises(TypeError, match="momentum"):
        check_real(False, "momentum", 0, 1)


def test_check_option():
    assert check_option("entmax", "mask_type", ("sparsemax", "entmax")) == "entmax"
    for bad in ("softmax", None, ["entmax"], 1):
        with pytest.raises(ValueError, match="Unknown mask_type .*; mask_type must be one of "
                                             "'sparsemax', 'entmax'"):
            check_option(bad, "mask_type", ("sparsemax", "entmax"))


def test_check_sizes():
    assert check_sizes((8, np.int64(4))) == (8, 4)
    assert check_sizes(np.array([3, 2])) == (3, 2)
    assert check_sizes([]) == ()
    assert check_sizes(5) == (5,)  # one layer, as in MLPClassifier
    for bad in ((8, 0), (8, -1), (8, 2.0), (True,)):
        with pytest.raises(ValueError, match="hidden_layer_sizes must be an int or a sequence of "
                                             "ints >= 1, got"):
            check_sizes(bad)
    for bad in ("8", None, 2.5):
        with pytest.raises(TypeError, match="hidden_layer_sizes"):
            check_sizes(bad)
    with pytest.raises(ValueError, match="^hidden_layer_sizes must"):
        check_sizes(0)


def test_check_module():
    import torch
    linear = torch.nn.Linear(2, 2)
    assert check_module(linear, "body") is linear
    assert check_module(None, "fc", torch.nn.Linear, none=True) is None
    with pytest.raises(TypeError, match="^body must be a torch.nn.Module, got int.$"):
        check_module(3, "body")
    with pytest.raises(TypeError, match="^fc must be a Linear or None, got ReLU.$"):
        check_module(torch.nn.ReLU(), "fc", torch.nn.Linear, none=True)

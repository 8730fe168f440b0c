"""Argument checks shared by the layers of :mod:`skgates.nn`.

Every public layer checks its constructor arguments with these helpers, once.
A message names the argument exactly as the estimators of :mod:`skgates` name
it and says what was expected and what was given, e.g.
``"virtual_batch_size must be an int >= 2, got 1."``; it carries no layer
name, so that an estimator can prefix its own (``"TabNetClassifier: ..."``).
A value of the wrong type raises a ``TypeError``, a value of the right type
outside its range a ``ValueError``.
"""

import math
import numbers

from torch import nn


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(value, name, min_val=None, max_val=None):
    """Return ``value`` as an ``int`` after checking it is an int in ``[min_val, max_val]``.

    Parameters
    ----------
    value : object
    name : str
        The argument's name, for the message.
    min_val, max_val : int or None, default=None
        Smallest and largest allowed values; None for no bound.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        When ``value`` is not an integer (a bool or a float such as ``2.0`` is not).
    ValueError
        When ``value`` is out of bounds.
    """
    if min_val is not None and max_val is not None:
        expected = f"an int in [{min_val}, {max_val}]"
    elif min_val is not None:
        expected = f"an int >= {min_val}"
    elif max_val is not None:
        expected = f"an int <= {max_val}"
    else:
        expected = "an int"
    if not _is_int(value):
        raise TypeError(f"{name} must be {expected}, got {value!r}.")
    if (min_val is not None and value < min_val) or (max_val is not None and value > max_val):
        raise ValueError(f"{name} must be {expected}, got {value!r}.")
    return int(value)


def _interval(low, high, low_open, high_open):
    if low is not None and high is not None:
        return (f"a number in {'(' if low_open else '['}{low:g}, {high:g}"
                f"{')' if high_open else ']'}")
    if low is not None:
        return f"a finite number {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"a finite number {'<' if high_open else '<='} {high:g}"
    return "a finite number"


def check_real(value, name, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as a ``float`` after checking it is a finite number in an interval.

    Parameters
    ----------
    value : object
    name : str
        The argument's name, for the message.
    low, high : float or None, default=None
        Bounds of the interval; None for no bound. NaN and infinities are
        always refused.
    low_open, high_open : bool, default=False
        Whether the bound itself is excluded.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        When ``value`` is not a real number (a bool is not).
    ValueError
        When ``value`` is NaN, infinite or outside the interval.
    """
    expected = _interval(low, high, low_open, high_open)
    if not _is_real(value):
        raise TypeError(f"{name} must be {expected}, got {value!r}.")
    number = float(value)
    inside = math.isfinite(number)
    if inside and low is not None:
        inside = number > low if low_open else number >= low
    if inside and high is not None:
        inside = number < high if high_open else number <= high
    if not inside:
        raise ValueError(f"{name} must be {expected}, got {value!r}.")
    return number


def check_option(value, name, options):
    """Return ``value`` after checking it is one of ``options``.

    Raises
    ------
    ValueError
        ``"Unknown {name} {value!r}; {name} must be one of ..."``.
    """
    try:
        known = value in options
    except TypeError:  # an unhashable value
        known = False
    if not known or not isinstance(value, str):
        raise ValueError(
            f"Unknown {name} {value!r}; {name} must be one of {', '.join(map(repr, options))}."
        )
    return value


def check_sizes(value, name="hidden_layer_sizes"):
    """Return layer widths as a tuple of ints, each >= 1.

    Like :class:`sklearn.neural_network.MLPClassifier`, a single int is one
    layer of that width; an empty sequence is no layer.

    Raises
    ------
    TypeError
        When ``value`` is neither an int nor a sequence (a string is not one).
    ValueError
        When an entry is not an int >= 1.
    """
    expected = f"{name} must be an int or a sequence of ints >= 1"
    if _is_int(value):
        value = (value,)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{expected}, got {value!r}.")
    sizes = tuple(value)
    if not all(_is_int(size) and size >= 1 for size in sizes):
        raise ValueError(f"{expected}, got {value!r}.")
    return tuple(int(size) for size in sizes)


def check_module(value, name, cls=nn.Module, none=False):
    """Return ``value`` after checking it is an instance of ``cls`` (or None when ``none``).

    Raises
    ------
    TypeError
        Naming the expected class and the type given.
    """
    if value is None and none:
        return value
    if not isinstance(value, cls):
        expected = "a torch.nn.Module" if cls is nn.Module else f"a {cls.__name__}"
        raise TypeError(
            f"{name} must be {expected}{' or None' if none else ''}, got {type(value).__name__}."
        )
    return value

"""scikit-learn's estimator checks over every public skgates estimator, found by walking the package."""

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import skgates


def public_estimator_classes():
    """Every public, concrete ``BaseEstimator`` subclass defined in skgates."""
    found = {}
    for module_info in pkgutil.walk_packages(skgates.__path__, prefix="skgates."):
        if any(part.startswith("_") for part in module_info.name.split(".")):
            continue
        module = importlib.import_module(module_info.name)
        for name, obj in inspect.getmembers(module, inspect.isclass):
            defined_in = obj.__module__.split(".")
            if (issubclass(obj, BaseEstimator) and defined_in[0] == "skgates"
                    and not any(part.startswith("_") for part in defined_in)
                    and not name.startswith("_") and not inspect.isabstract(obj)):
                found[name] = obj
    return [found[name] for name in sorted(found)]


def instances():
    """One instance per estimator class, seeded so every check is reproducible."""
    return [cls(random_state=0) for cls in public_estimator_classes()]


def test_walk_finds_the_documented_estimators():
    names = {cls.__name__ for cls in public_estimator_classes()}
    assert {name for name in skgates.__all__ if not name.startswith("_")} <= names


@parametrize_with_checks(instances())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

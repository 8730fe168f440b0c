"""scikit-learn's estimator checks over every public skgates estimator, found by walking the package."""

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

import skgates

#: Training with per-example random masks (DropConnect, TailDropout) or batch statistics (TabNet's ghost
#: batch norm) is not equivalent to repeating rows: a repeated row draws its own mask and
#: moves the batch statistics. scikit-learn marks its stochastic estimators (SGDClassifier,
#: MLPClassifier) the same way. tests/test_weights.py checks what does hold for them: the
#: weighted loss of a fixed batch equals the loss with repeated rows.
_WEIGHTS_ARE_NOT_REPETITIONS = {
    "check_sample_weight_equivalence_on_dense_data":
        "random per-example masks / batch statistics: weights equal repetitions in the loss "
        "of a fixed batch only (tests/test_weights.py)",
}
EXPECTED_FAILED_CHECKS = {
    "CancelOutSelector": {
        "check_sample_weight_equivalence_on_dense_data":
            "its shadow columns are the rows shuffled, so a repeated row and a weighted row "
            "get different shadow values; tests/test_weights.py checks the loss of a fixed "
            "batch, and whole fits with n_shadows=0",
    },
    "DropConnectClassifier": _WEIGHTS_ARE_NOT_REPETITIONS,
    "DropConnectRegressor": _WEIGHTS_ARE_NOT_REPETITIONS,
    "TabNetClassifier": _WEIGHTS_ARE_NOT_REPETITIONS,
    "TabNetRegressor": _WEIGHTS_ARE_NOT_REPETITIONS,
    "TailDropoutRanker": _WEIGHTS_ARE_NOT_REPETITIONS,  # each row draws its own column order
}


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


def make_instance(cls):
    """A seeded instance; meta-estimators wrap a fast scikit-learn model (and few refits)."""
    parameters = inspect.signature(cls).parameters
    if "estimator" in parameters:
        fast = {"n_resamples": 3} if "n_resamples" in parameters else {}
        return cls(LogisticRegression(max_iter=200), random_state=0, **fast)
    return cls(random_state=0)


def test_walk_finds_the_documented_estimators():
    names = {cls.__name__ for cls in public_estimator_classes()}
    exported = {name for name in skgates.__all__
                if inspect.isclass(getattr(skgates, name))
                and issubclass(getattr(skgates, name), BaseEstimator)}
    assert exported and exported <= names


@parametrize_with_checks(
    [make_instance(cls) for cls in public_estimator_classes()],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS.get(
        type(estimator).__name__, {}),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

"""Early stopping on a scikit-learn score of the held-out rows, not only on their loss."""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import get_scorer
from skorch.callbacks import Callback

from ._net import _tensors_of


def resolve_scorer(scoring, estimator_name):
    """A scorer ``scorer(estimator, X, y, sample_weight=None)`` from a name or a callable."""
    if callable(scoring):
        return scoring
    try:
        return get_scorer(scoring)
    except ValueError as error:
        raise ValueError(
            f"{estimator_name}: scoring={scoring!r} is not a scorer name (see "
            "sklearn.metrics.get_scorer_names()) or a callable scorer(estimator, X, y)."
        ) from error


class NetworkPredictor(BaseEstimator):
    """The estimator's predictions from a given network, for a scorer during training.

    It reads inputs that are already standardised tensors (the held-out rows of
    the training data), so nothing is validated or scaled again. Not for direct use.
    """

    def __init__(self, estimator, module):
        self.estimator = estimator
        self.module = module

    @property
    def classes_(self):
        return self.estimator.classes_

    def _outputs(self, X):
        module = getattr(self.module, "_orig_mod", self.module)
        return self.estimator._batched(
            X, lambda network, batch: _first(network(batch)), module=module)

    def predict_proba(self, X):
        return self.estimator._probabilities(self._outputs(X))

    def decision_function(self, X):
        logits = self._outputs(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict(self, X):
        if self.estimator.task_ == "classification":
            return self.estimator._labels(self._outputs(X))
        return self.estimator._targets(self._outputs(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = ("classifier" if self.estimator.task_ == "classification"
                               else "regressor")
        return tags


class ValidationScore(Callback):
    """Record ``valid_score``, the scorer's value on the held-out rows, after every epoch.

    The rows come from skorch's ``dataset_valid`` of the epoch; nothing is kept
    between epochs, so a fitted net holds no rows.

    Parameters
    ----------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None)``, higher is better.
    estimator : BaseNetworkEstimator
        The skgates estimator being fitted (its target encoding maps outputs back).
    """

    def __init__(self, scorer, estimator):
        self.scorer = scorer
        self.estimator = estimator

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is None:
            return
        X, y = _tensors_of(dataset_valid)
        inputs, weights = X["X"], X["sample_weight"].double().cpu().numpy()
        targets = self._original_targets(y)
        predictor = NetworkPredictor(self.estimator, net.module_)
        keyword = {} if np.all(weights == 1) else {"sample_weight": weights}
        score = float(self.scorer(predictor, inputs, targets, **keyword))
        if not np.isfinite(score):
            raise FloatingPointError(
                f"{type(self.estimator).__name__}: the validation score is {score} at epoch "
                f"{len(net.history)}; the scorer cannot rank epochs."
            )
        net.history.record("valid_score", score)

    def _original_targets(self, y):
        estimator = self.estimator
        values = y.cpu().numpy()
        if estimator.task_ == "classification":
            return estimator.classes_[values]
        return estimator._targets(values.astype(np.float64))

    def __getstate__(self):
        # The estimator holds this callback's net: pickle the scorer only.
        state = dict(self.__dict__)
        state["estimator"] = None
        return state


def _first(output):
    return output[0] if isinstance(output, (tuple, list)) else output

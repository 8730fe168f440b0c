"""Early stopping on a scikit-learn score of the held-out rows, not only on their loss."""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, get_scorer, r2_score
from skorch.callbacks import Callback

from ._net import _tensors_of
from ._targets import stack_labels, subset_accuracy


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
            X, lambda network, batch: _first(network(batch)), module=module,
            prepared=True)

    def predict_proba(self, X):
        return self.estimator._probabilities(self._outputs(X))

    def decision_function(self, X):
        if _is_multi_task(self.estimator):
            raise AttributeError("a multi-task classifier has no decision_function; "
                                 "use predict_proba (one array per task).")
        logits = self._outputs(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict(self, X):
        if self.estimator.task_ == "classification":
            return self.estimator._labels(self._outputs(X))
        return self.estimator._targets(self._outputs(X))

    def score(self, X, y, sample_weight=None):
        """The estimator's ``score``: accuracy (subset accuracy for multi-task) or R^2."""
        y_pred = self.predict(X)
        if self.estimator.task_ != "classification":
            return r2_score(y, y_pred, sample_weight=sample_weight)
        if _is_multi_task(self.estimator):
            return subset_accuracy(y, y_pred, sample_weight)
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

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
        if weights.ndim == 2:  # per-task class weights: their product, as for the scaler
            weights = weights.prod(axis=1)
        predictor = NetworkPredictor(self.estimator, net.module_)
        keyword = {} if np.all(weights == 1) else {"sample_weight": weights}
        if _is_multi_task(self.estimator):
            score = self._multi_task_score(predictor, inputs, y.cpu().numpy(), keyword)
        else:
            score = float(self.scorer(predictor, inputs, self._original_targets(y), **keyword))
        if not np.isfinite(score):
            raise FloatingPointError(
                f"{type(self.estimator).__name__}: the validation score is {score} at epoch "
                f"{len(net.history)}; the scorer cannot rank epochs."
            )
        net.history.record("valid_score", score)

    def _multi_task_score(self, predictor, inputs, codes, keyword):
        """A scorer name: the mean over tasks of each task's score; a callable: the whole Y."""
        estimator = self.estimator
        labels = [classes[codes[:, t]] for t, classes in enumerate(estimator.classes_)]
        if not isinstance(getattr(estimator, "scoring", None), str):
            try:
                return float(self.scorer(predictor, inputs, stack_labels(labels), **keyword))
            except (ValueError, TypeError) as error:
                raise ValueError(
                    f"{type(estimator).__name__}: the scoring callable failed on multi-task "
                    f"validation targets ({type(error).__name__}: {error}). A callable receives "
                    "Y of shape (n_samples, n_tasks), predict() of that shape and "
                    "predict_proba() as a list of one array per task; scikit-learn's metrics "
                    "do not take multiclass-multioutput targets, so pass a scorer name (scored "
                    "per task and averaged) or a callable such as "
                    "lambda est, X, Y: est.score(X, Y) (subset accuracy)."
                ) from error
        logits = predictor._outputs(inputs)
        scores = [
            float(self.scorer(_TaskOutputs(classes, part), inputs, labels[t], **keyword))
            for t, (classes, part) in enumerate(zip(estimator.classes_,
                                                    estimator._task_logits(logits)))
        ]
        return float(np.mean(scores))

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


class _TaskOutputs(BaseEstimator):
    """One task of a multi-task classifier, answering from that task's given logits.

    A scikit-learn scorer reads ``classes_``, ``predict``, ``predict_proba``
    or ``decision_function``; each returns the task's part of the logits
    computed once for the held-out rows (``X`` must be those rows). Not for
    direct use.
    """

    def __init__(self, classes, logits):
        self.classes = classes
        self.logits = logits

    @property
    def classes_(self):
        return self.classes

    def predict(self, X):
        return self.classes[np.argmax(self.logits, axis=1)]

    def predict_proba(self, X):
        logits = self.logits - self.logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def decision_function(self, X):
        logits = self.logits
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        return tags


def _is_multi_task(estimator):
    return (getattr(estimator, "task_", None) == "classification"
            and isinstance(getattr(estimator, "classes_", None), list))


def _first(output):
    return output[0] if isinstance(output, (tuple, list)) else output

"""ContractiveAutoencoder: an unsupervised transformer whose code resists small input changes."""

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from ._base import BaseNetworkEstimator, training_params
from ._seeding import draw_seed, torch_seeded
from .dropconnect import input_x_gradient
from .nn import Autoencoder


class ContractiveAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                             BaseNetworkEstimator):
    r"""Learn a code of ``X`` whose Jacobian is penalised (Rifai et al., 2011).

    The network is an autoencoder (:class:`skgates.nn.Autoencoder`): an
    encoder ``x -> h(x)`` ending in the code layer of ``n_components``
    units, and a mirrored decoder back to the input. Training minimises the
    squared reconstruction error of the standardised input plus the
    contractive penalty

    .. math::

        \text{contractive} \cdot \frac{1}{n}\sum_r \frac{1}{L}\sum_{i=1}^{L}
        \left\| \frac{\partial Z_i(x_r)}{\partial x_r} \right\|_F^2

    over the chosen hidden layers ``Z_i`` (the code by default), computed
    exactly in closed form (see :mod:`skgates.nn.contractive`). A larger
    weight makes the code flatter around the training data: it keeps the
    directions the data vary along and ignores small perturbations.

    Parameters
    ----------
    n_components : int, default=2
        Width of the code.
    contractive : float, default=0.1
        Weight of the contractive penalty; 0 gives a plain autoencoder.
    contractive_layers : str, sequence of str or None, default=None
        fnmatch patterns over the network's module names; None means
        ``("encoder.code",)``. ``"encoder.*"`` counts every encoder layer.
    hidden_layer_sizes : tuple of int, default=()
        Widths of encoder layers before the code (mirrored in the decoder).
    activation : {"identity", "logistic", "tanh", "relu"}, default="logistic"
        Activation of the encoder and decoder hidden layers and the code
        (the sigmoid, as in the paper).
    max_epochs : int, default=100
        Passes over the training data (upper bound with early stopping).
    batch_size : int, default=128
        Rows per mini-batch (capped at the number of rows).
    lr : float, default=0.01
        AdamW learning rate.
    weight_decay : float, default=0.0
        Decoupled weight decay of weight matrices (not of biases).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop when their
        reconstruction error has not improved for ``n_iter_no_change``
        epochs, restoring the best weights.
    validation_fraction : float, default=0.1
        Fraction of rows held out for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    device : str, default="cpu"
        Torch device to train on, e.g. ``"cuda"``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the validation split. Equal ints
        give equal results on CPU; the caller's global torch RNG is left
        untouched.
    verbose : int, default=0
        ``> 0`` shows a progress bar and a per-epoch log.
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks for the skorch net.

    Attributes
    ----------
    feature_importances_ : ndarray of shape (n_features_in_,)
        How much each input column moves the code: the mean over (up to
        2,000) training rows of ``sum_k |x_j * d h_k / d x_j|``, with ``x``
        the standardised input and ``h_k`` the code units; normalised to sum
        to 1.
    n_outputs_ : int
        Reconstructed columns (``n_features_in_``).
    net_ : skgates._net.PenalizedNet
        The fitted skorch net; ``net_.module_`` is the autoencoder.
    history_ : pandas.DataFrame
        Per-epoch ``train_loss`` (reconstruction + penalty) and, with early
        stopping, ``valid_loss`` (reconstruction only).
    input_scaler_ : sklearn.preprocessing.StandardScaler
        Standardisation applied before the encoder (and undone by
        :meth:`inverse_transform`).
    n_features_in_ : int
        Number of columns seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` had string column names.

    See Also
    --------
    skgates.nn.contractive_penalty : The penalty on any network.
    sklearn.decomposition.PCA : The linear, unpenalised counterpart.

    References
    ----------
    S. Rifai, P. Vincent, X. Muller, X. Glorot, Y. Bengio. "Contractive
    Auto-Encoders: Explicit Invariance During Feature Extraction." ICML 2011.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skgates import ContractiveAutoencoder
    >>> X, _ = load_iris(return_X_y=True)
    >>> cae = ContractiveAutoencoder(n_components=2, random_state=0).fit(X)
    >>> cae.transform(X).shape, cae.inverse_transform(cae.transform(X)).shape
    ((150, 2), (150, 4))
    """

    _task = "reconstruction"
    _default_contractive_layers = ("encoder.code",)
    # n_components, hidden_layer_sizes and activation are checked by skgates.nn.Autoencoder.
    _parameter_constraints = {**BaseNetworkEstimator._parameter_constraints}

    def __init__(
        self,
        *,
        n_components=2,
        contractive=0.1,
        contractive_layers=None,
        hidden_layer_sizes=(),
        activation="logistic",
        max_epochs=100,
        batch_size=128,
        lr=0.01,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        super().__init__(**training_params(locals()))
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation

    def fit(self, X, y=None):
        """Train the autoencoder on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data.
        y : None
            Ignored.

        Returns
        -------
        self : ContractiveAutoencoder
        """
        return self._fit(X, None)

    def _after_training(self, data, first_call):
        module = self._inference_module().eval()
        with torch_seeded(draw_seed(self.random_state), self.device):
            self.feature_importances_ = input_x_gradient(module.encode, data.X)

    def transform(self, X):
        """The code of each row, shape ``(n_samples, n_components)``, float64.

        Computed in float64, batch by batch, so a row's code does not depend on
        the rows transformed with it.
        """
        return self._batched(X, lambda module, batch: module.encode(batch), float64=True)

    def inverse_transform(self, X):
        """Decode codes back to the input space (undoing the standardisation).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self, "net_")
        codes = check_array(X, dtype=[np.float64, np.float32])
        if codes.shape[1] != self._code_width():
            raise ValueError(
                f"ContractiveAutoencoder: inverse_transform expects {self._code_width()} "
                f"columns (n_components), got {codes.shape[1]}."
            )
        codes_t = torch.as_tensor(codes, dtype=torch.float64, device=self._inference_device())
        out = self._batched(codes_t, lambda module, batch: module.decoder(batch), float64=True,
                           prepared=True)
        return self.input_scaler_.inverse_transform(out)

    def _code_width(self):
        return self._inference_module().encoder.code[0].out_features

    @property
    def _n_features_out(self):
        return self.n_components

    # ------------------------------------------------------------- the bridge
    def _build_module(self, n_features, n_outputs):
        return Autoencoder(n_features, self.n_components, self.hidden_layer_sizes, self.activation)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

"""Standardise columns in float64 without overflow, whatever their scale."""

import numpy as np

#: A column whose standard deviation is below this fraction of its largest
#: absolute value is constant for our purposes (float64 noise, not signal).
CONSTANT_TOLERANCE = 1e-12


class ColumnStandardizer:
    """Centre and scale every column to mean 0 and variance 1, robustly to extreme scales.

    ``StandardScaler`` squares raw values, so a column near ``1e200`` overflows
    to inf, and it cannot centre a constant column of ``1e20`` (the mean's
    rounding error survives as ``1e4``). Here every column is first divided by
    its largest absolute value, so the moments are computed on values in
    ``[-1, 1]``; a column whose spread is below ``CONSTANT_TOLERANCE`` of its
    magnitude (a constant column, at any scale) maps to 0. A column and the
    same column times ``1e30`` are standardised to the same values.

    ``partial_fit`` merges chunks exactly (Chan et al.'s pairwise update,
    rescaled when a chunk raises a column's largest absolute value). Row
    weights give weighted moments: a row of weight 0 counts as absent, a row
    of weight 2 as two rows.

    Attributes
    ----------
    n_features_in_ : int
    n_samples_seen_ : float
        Rows seen (their total weight).
    mean_ : ndarray of shape (n_features_in_,)
        Column means.
    scale_ : ndarray of shape (n_features_in_,)
        Column standard deviations; 1 for a constant column (which maps to 0).
    """

    def fit(self, X, sample_weight=None):
        for name in ("n_samples_seen_", "_magnitude", "_unit_mean", "_unit_m2"):
            self.__dict__.pop(name, None)
        return self.partial_fit(X, sample_weight)

    def partial_fit(self, X, sample_weight=None):
        X = np.asarray(X)
        w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, np.float64)
        magnitude = np.max(np.abs(X), axis=0).astype(np.float64) if len(X) else np.zeros(X.shape[1])
        if not hasattr(self, "n_samples_seen_"):
            self.n_features_in_ = X.shape[1]
            self.n_samples_seen_ = 0
            self._magnitude = np.zeros(X.shape[1])
            self._unit_mean = np.zeros(X.shape[1])
            self._unit_m2 = np.zeros(X.shape[1])
        new_magnitude = np.maximum(self._magnitude, magnitude)
        unit = _safe_unit(new_magnitude)
        # Re-express the running moments in the new units, then merge the chunk's.
        ratio = _safe_unit(self._magnitude) / unit
        mean_a, m2_a, n_a = self._unit_mean * ratio, self._unit_m2 * ratio**2, self.n_samples_seen_
        chunk = X / unit
        n_b = float(w.sum())
        mean_b = w @ chunk / n_b if n_b > 0 else np.zeros(X.shape[1])
        m2_b = w @ (chunk - mean_b) ** 2 if n_b > 0 else np.zeros(X.shape[1])
        n = n_a + n_b
        if n == 0:
            return self
        delta = mean_b - mean_a
        self._unit_mean = mean_a + delta * (n_b / n)
        self._unit_m2 = m2_a + m2_b + delta**2 * (n_a * n_b / n)
        self._magnitude, self.n_samples_seen_ = new_magnitude, n
        self._set_moments(unit)
        return self

    def _set_moments(self, unit):
        unit_std = np.sqrt(self._unit_m2 / self.n_samples_seen_)
        constant = unit_std <= CONSTANT_TOLERANCE
        self._constant = constant
        self.mean_ = self._unit_mean * unit
        self._unit = unit
        self._unit_std = np.where(constant, 1.0, unit_std)
        self.scale_ = np.where(constant, 1.0, unit_std * unit)

    def transform(self, X):
        """Standardised float64 copy of ``X``; constant columns become 0."""
        X = np.asarray(X, dtype=np.float64)
        # (X / unit - mean / unit) / std stays finite where (X - mean) / scale could overflow.
        Z = (X / self._unit - self._unit_mean) / self._unit_std
        Z[:, self._constant] = 0.0
        return Z

    def inverse_transform(self, Z):
        """Map standardised values back to the original scale."""
        Z = np.asarray(Z, dtype=np.float64)
        return (Z * self._unit_std + self._unit_mean) * self._unit


def _safe_unit(magnitude):
    """Per-column divisor: the largest absolute value, or 1 for an all-zero column."""
    return np.where(magnitude > 0, magnitude, 1.0)

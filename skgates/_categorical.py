"""Encode categorical columns as integer codes for embedding layers.

A categorical column becomes codes ``1..K`` for its ``K`` known categories and
``0`` for a missing value or a category not seen during ``fit`` (the reserved
embedding), unless the caller fixed the number of codes with ``cat_dims``.
"""

import numbers

import numpy as np
import pandas as pd
from pandas.api import types as ptypes


def _is_dataframe(X):
    return isinstance(X, pd.DataFrame)


def auto_categorical_columns(X):
    """Positions of the columns of a DataFrame that are not numeric (category, object, bool, string)."""
    if not _is_dataframe(X):
        return []
    found = []
    for j, dtype in enumerate(X.dtypes):
        if ptypes.is_bool_dtype(dtype) or not ptypes.is_numeric_dtype(dtype):
            found.append(j)
    return found


class CategoricalEncoder:
    """Learn category -> code maps for some columns and apply them.

    Parameters
    ----------
    cat_idxs : "auto" or sequence of int or str
        ``"auto"``: every non-numeric column of a DataFrame. A sequence lists
        column positions (or names, for a DataFrame).
    cat_dims : sequence of int or None
        Fixed number of categories per categorical column: the column must
        then hold integer codes ``0..cat_dims[k] - 1`` (any other value is an
        error, at fit and predict time). None: learn the categories at fit.
    estimator_name : str
        For error messages.

    Attributes
    ----------
    columns_ : list of int
        Positions of the categorical columns.
    categories_ : list of ndarray or None
        Known categories per column (None where ``cat_dims`` fixed the codes).
    n_codes_ : list of int
        Embedding rows each column needs (codes plus the reserved one).
    """

    def __init__(self, cat_idxs, cat_dims, estimator_name):
        self.cat_idxs = cat_idxs
        self.cat_dims = cat_dims
        self.estimator_name = estimator_name

    # ------------------------------------------------------------------- fit
    def fit(self, X):
        name = self.estimator_name
        n_columns = X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else None
        if isinstance(self.cat_idxs, str) and self.cat_idxs == "auto":
            columns = auto_categorical_columns(X)
        elif self.cat_idxs is None:
            columns = []
        else:
            columns = self._resolve(X, self.cat_idxs, n_columns)
        if self.cat_dims is not None:
            try:
                dims = [int(d) for d in self.cat_dims]
            except (TypeError, ValueError):
                raise TypeError(f"{name}: cat_dims must be a list of ints, got {self.cat_dims!r}.") from None
            if len(dims) != len(columns) or any(d < 1 for d in dims):
                raise ValueError(
                    f"{name}: cat_dims must hold one positive int per categorical column "
                    f"({len(columns)} columns {columns}), got {self.cat_dims!r}."
                )
        self.columns_ = columns
        self.categories_ = []
        self.n_codes_ = []
        for k, j in enumerate(columns):
            values = _column(X, j)
            if self.cat_dims is not None:
                self._check_codes(values, j, dims[k])
                self.categories_.append(None)
                self.n_codes_.append(dims[k] + 1)
            else:
                categories = _categories_of(values)
                self.categories_.append(categories)
                self.n_codes_.append(len(categories) + 1)
        return self

    def _resolve(self, X, cat_idxs, n_columns):
        name = self.estimator_name
        if isinstance(cat_idxs, (str, numbers.Number)):
            raise TypeError(f"{name}: cat_idxs must be 'auto' or a list of column indices, got {cat_idxs!r}.")
        columns = []
        for c in cat_idxs:
            if isinstance(c, str):
                if not _is_dataframe(X) or c not in X.columns:
                    raise ValueError(f"{name}: cat_idxs names column {c!r}, which X does not have.")
                columns.append(int(X.columns.get_loc(c)))
            elif isinstance(c, numbers.Integral) and not isinstance(c, bool):
                if n_columns is not None and not 0 <= c < n_columns:
                    raise ValueError(f"{name}: cat_idxs holds {c}, outside the {n_columns} columns of X.")
                columns.append(int(c))
            else:
                raise TypeError(f"{name}: cat_idxs entries must be ints or column names, got {c!r}.")
        if len(set(columns)) != len(columns):
            raise ValueError(f"{name}: cat_idxs lists a column twice: {list(cat_idxs)!r}.")
        return sorted(columns)

    def _check_codes(self, values, j, dim):
        values = pd.Series(np.asarray(values, dtype=object)).dropna()
        try:
            codes = values.astype(np.float64).to_numpy()
        except (TypeError, ValueError):
            raise ValueError(
                f"{self.estimator_name}: column {j} has non-numeric categories, but cat_dims says it "
                "holds integer codes; leave cat_dims=None to learn the categories."
            ) from None
        bad = (codes != np.round(codes)) | (codes < 0) | (codes >= dim)
        if bad.any():
            raise ValueError(
                f"{self.estimator_name}: categorical column {j} holds {codes[bad][0]!r}, but its "
                f"embedding allows codes 0..{dim - 1} (cat_dims); this column has more categories "
                "than the embedding was built for."
            )

    # ------------------------------------------------------------- transform
    def transform(self, X):
        """Replace categorical columns by float codes; a DataFrame stays a DataFrame."""
        if not self.columns_:
            return X
        if _is_dataframe(X):
            X = X.copy()
            for k, j in enumerate(self.columns_):
                if j >= X.shape[1]:
                    continue  # validate_data reports the wrong column count
                X.isetitem(j, self._encode(X.iloc[:, j], k, j))
            return X
        X = np.array(X, dtype=np.float64)
        for k, j in enumerate(self.columns_):
            X[:, j] = self._encode(X[:, j], k, j)
        return X

    def _encode(self, values, k, j):
        if self.categories_[k] is None:
            dim = self.n_codes_[k] - 1
            self._check_codes(values, j, dim)
            codes = pd.Series(np.asarray(values, dtype=object)).astype(np.float64).to_numpy()
            return np.where(np.isnan(codes), 0.0, codes + 1.0)
        categories = self.categories_[k]
        index = pd.Index(categories)
        values = np.asarray(values, dtype=object)
        positions = index.get_indexer(values)
        return (positions + 1).astype(np.float64)  # -1 (unseen or missing) -> 0


def _column(X, j):
    if _is_dataframe(X):
        return X.iloc[:, j]
    return np.asarray(X)[:, j]


def _categories_of(values):
    """Known categories of a column: a categorical dtype's categories, else the values seen."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        return np.asarray(values.dtype.categories, dtype=object)
    series = pd.Series(np.asarray(values, dtype=object)).dropna()
    unique = pd.unique(series)
    try:
        unique = np.sort(unique)
    except TypeError:
        unique = np.asarray(sorted(unique, key=repr), dtype=object)
    return np.asarray(unique, dtype=object)

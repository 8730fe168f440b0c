"""
Which columns beat noise? Importances against noise probes
==========================================================

An importance alone does not say whether a column is real: a network gives every
column *some* weight. Append columns of pure noise ("probes") to the data and a real
column must stand clear of them. Here, :class:`~skgates.CancelOutSelector` ranks the 30
columns of the breast-cancer data with 30 Gaussian probes appended (made by
:func:`~skgates.datasets.load_cancer_with_probes`), and keeps the columns whose gate
is above the mean gate (``threshold="mean"``, as in
:class:`~sklearn.feature_selection.SelectFromModel`).

:class:`~skgates.plotting.ImportanceDisplay` draws the gate values, most important on
top: the selected columns in blue, the others in grey, the probes hatched, the
threshold as a dashed line and the range of the probes' gates as an orange band.
"""

from skgates import CancelOutSelector
from skgates.datasets import load_cancer_with_probes
from skgates.plotting import ImportanceDisplay

X, y, relevant = load_cancer_with_probes(n_probes=30, random_state=0)
probes = [name for name in X.columns if name.startswith("probe_")]
selector = CancelOutSelector(threshold="mean", random_state=0).fit(X, y)

display = ImportanceDisplay.from_estimator(selector, probes=probes, max_display=32)
# The gates differ in the second decimal: zoom in on the display's axes to read them.
display.ax_.set_xlim(0.45, None)

# %%
# A column right of the band beats every probe. The threshold lets one probe in, at the
# band's right edge: with many columns, the luckiest noise column always looks a little
# useful, which is why the band is the safer yardstick. Columns inside the band are no
# better than noise *for this network*: breast cancer's columns are strongly correlated,
# and the gates keep a sufficient subset rather than every redundant copy.
probe_max = display.probe_band[1]
kept = selector.get_feature_names_out()
print(f"selected: {len(kept)} columns, of which probes: {sum(n in probes for n in kept)}")
print(f"real columns above every probe: {(selector.feature_importances_ > probe_max).sum()}")

"""The order of the examples in the gallery: the question users ask first, first."""

import pathlib

ORDER = [
    "plot_importances_with_probes.py",
    "plot_stability_path.py",
    "plot_decision_with_guarantee.py",
    "plot_taildropout_scree.py",
    "plot_cancelout_streaming.py",
    "plot_dask_stream.py",
    "plot_tabnet_attention.py",
    "plot_dropconnect_overfitting.py",
    "plot_dropconnect_masks.py",
    "plot_contractive_autoencoder.py",
]


class ExampleOrder:
    """sphinx-gallery sort key: the examples in ``ORDER`` in that order, any others after."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = pathlib.Path(filename).name
        return (ORDER.index(name), name) if name in ORDER else (len(ORDER), name)

"""Check, before any training, that a torch device can run here."""

import warnings

import torch


def check_device(device, estimator_name):
    """Return ``torch.device(device)`` if this machine can train on it, else raise ``ValueError``.

    ``"cpu"`` always works; ``"cuda[:i]"``, ``"mps"`` and ``"xpu[:i]"`` need
    their backend to be available (and the index to exist); any other device
    type (``"meta"``, ``"hpu"``, ...) cannot hold trained weights here.
    """
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"{estimator_name}: device {device!r} is not a torch device.") from error
    if parsed.type == "cpu":
        return parsed
    backends = {
        "cuda": (lambda: torch.cuda.is_available(), lambda: torch.cuda.device_count()),
        "xpu": (lambda: hasattr(torch, "xpu") and torch.xpu.is_available(),
                lambda: torch.xpu.device_count()),
        "mps": (lambda: torch.backends.mps.is_available(), lambda: 1),
    }
    if parsed.type not in backends:
        raise ValueError(
            f"{estimator_name}: device {device!r} cannot train a network; use 'cpu', 'cuda', "
            "'mps' or 'xpu' where available."
        )
    available, count = backends[parsed.type]
    if not available():
        raise ValueError(
            f"{estimator_name}: device {device!r} was asked for, but this machine has no "
            f"{parsed.type} device available (torch {torch.__version__}); use device='cpu'."
        )
    if parsed.index is not None and parsed.index >= count():
        raise ValueError(
            f"{estimator_name}: device {device!r} does not exist; this machine has "
            f"{count()} {parsed.type} device(s)."
        )
    return parsed


def loaded_device(device, estimator_name):
    """The device that a loaded (unpickled) estimator's networks live on here.

    ``device`` is the one it was fitted on; if this machine cannot use it (a
    model trained on a GPU, served on a CPU machine), the networks are on the
    CPU, as skorch maps them, and a ``UserWarning`` says so.
    """
    try:
        return check_device(device, estimator_name)
    except ValueError:
        warnings.warn(
            f"{estimator_name} was fitted on {device}, which this machine cannot use; its "
            "networks are loaded on the CPU. A refit still asks for the device of its "
            "`device` parameter.", UserWarning, stacklevel=3)
        return torch.device("cpu")

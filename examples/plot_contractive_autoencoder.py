"""
The contractive penalty flattens an autoencoder's code
======================================================

:class:`~skgates.ContractiveAutoencoder` adds ``contractive * ||d code / d x||_F^2``
to the reconstruction loss: the code becomes insensitive to small moves of the input,
at some cost in reconstruction. Trained on 600 digits (64 columns) with three weights,
the figure shows both sides of the trade: the relative reconstruction error and the
code's Jacobian norm, measured independently with
``torch.autograd.functional.jacobian``.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits

from skgates import ContractiveAutoencoder


def code_jacobian_norm(cae, X):
    """Mean over rows of ||d code / d x||_F^2 (standardised input units), brute force."""
    net = cae.net_.module_.double().eval()
    X_t = torch.as_tensor(cae.input_scaler_.transform(X), dtype=torch.float64)
    return np.mean([torch.autograd.functional.jacobian(
        lambda x: net.encode(x[None])[0], row).pow(2).sum().item() for row in X_t])


X, _ = load_digits(return_X_y=True)
X = X[:600]
weights = [0.0, 0.1, 1.0]
errors, norms = [], []
for weight in weights:
    cae = ContractiveAutoencoder(n_components=8, contractive=weight, max_epochs=40,
                                 random_state=0).fit(X)
    errors.append(((cae.inverse_transform(cae.transform(X)) - X) ** 2).mean() / X.var(0).mean())
    norms.append(code_jacobian_norm(cae, X[:50]))

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
labels = [str(w) for w in weights]
left.bar(labels, errors, color="C0")
left.set(xlabel="contractive weight", ylabel="relative reconstruction error",
         title="Reconstruction")
right.bar(labels, norms, color="C1")
right.set(xlabel="contractive weight", ylabel=r"mean $\|\partial\, code / \partial x\|_F^2$",
          title="Sensitivity of the code")
for weight, error, norm in zip(weights, errors, norms):
    print(f"contractive={weight:<4}: reconstruction error {error:.3f}, ||J||_F^2 {norm:.3f}")

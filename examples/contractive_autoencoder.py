"""The contractive penalty flattens an autoencoder's code around the data.

Trains ContractiveAutoencoder on the digits (64 columns) with and without the
penalty and prints the reconstruction error and the code's Jacobian norm,
measured independently with torch.autograd.functional.jacobian.

Run: python examples/contractive_autoencoder.py   (about 15 s on one core)
"""

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


def main():
    torch.set_num_threads(1)
    X, _ = load_digits(return_X_y=True)
    X = X[:600]
    for weight in (0.0, 0.1, 1.0):
        cae = ContractiveAutoencoder(n_components=8, contractive=weight, max_epochs=60,
                                     random_state=0).fit(X)
        error = ((cae.inverse_transform(cae.transform(X)) - X) ** 2).mean() / X.var(0).mean()
        print(f"contractive={weight:<4}: relative reconstruction error {error:.3f}, "
              f"code Jacobian ||J||_F^2 {code_jacobian_norm(cae, X[:100]):.3f}")


if __name__ == "__main__":
    main()

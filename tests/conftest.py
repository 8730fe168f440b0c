"""Shared test settings: one torch thread per worker (tiny ops are slower with more)."""

import torch

torch.set_num_threads(1)

"""Compiled (numba) kernels: log-likelihoods with gradients, and simulators."""

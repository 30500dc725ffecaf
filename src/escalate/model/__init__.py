"""The model wing: the parameter registry, specs, scenarios, the PyMC model, likelihood
kernels and their Op, and the simulator (MODEL.md sections 2-4).
"""

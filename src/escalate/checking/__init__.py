"""The checking wing: posterior quantities, goodness of fit, simulation-based calibration,
backtests and their scores.
"""

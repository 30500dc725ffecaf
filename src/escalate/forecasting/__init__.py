"""The forecasting wing: posterior forecasts of truce collapse (MODEL.md 4), the
:class:`Forecast` result and its compiled path simulators.
"""

"""The inference wing: fitting with NUTS, the :class:`Fit` result with its file, diagnostics.
"""

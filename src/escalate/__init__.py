"""escalate: Bayesian multivariate Hawkes models of truce violations and forecasts of collapse.

The public API is importable from here; each name lives in its wing (see
``docs/architecture.md``) and is loaded on first use, so ``import escalate`` (and the command
line's start, which must install its interrupt handlers first) does not pull in PyMC, ArviZ
and the numba kernels until they are needed.
"""

from __future__ import annotations

import importlib

from escalate.errors import (
    DataValidationError,
    EscalateInputError,
    FileFormatError,
    ParameterError,
    SimulationExplosionError,
    SpecError,
)
from escalate.version import __version__

#: Public name -> the module that defines it.
_PUBLIC = {
    "TruceData": "escalate.data.truce_data",
    "Corpus": "escalate.data.corpus",
    "CorpusFit": "escalate.inference.corpus",
    "load_corpus_fit": "escalate.inference.corpus",
    "simulate_corpus": "escalate.model.simulate_corpus",
    "ModelSpec": "escalate.model.spec",
    "Prior": "escalate.model.spec",
    "CollapseRule": "escalate.model.scenarios",
    "Scenario": "escalate.model.scenarios",
    "build_model": "escalate.model.build",
    "log_likelihood": "escalate.model.likelihood",
    "simulate": "escalate.model.simulate",
    "Fit": "escalate.inference.result",
    "load_fit": "escalate.inference.result",
    "fit": "escalate.inference.fit",
    "fit_from_draws": "escalate.inference.fit",
    "Forecast": "escalate.forecasting.result",
    "load_forecast": "escalate.forecasting.result",
    "backtest": "escalate.checking.backtest",
    "backtest_corpus": "escalate.checking.corpus_backtest",
    "report": "escalate.reporting.report",
}

__all__ = [
    "CollapseRule", "Corpus", "CorpusFit", "DataValidationError", "EscalateInputError", "FileFormatError",
    "Fit", "Forecast", "ModelSpec", "ParameterError", "Prior", "Scenario", "SimulationExplosionError",
    "SpecError", "TruceData", "__version__", "backtest", "backtest_corpus", "build_model", "fit", "fit_from_draws",
    "load_corpus_fit", "load_fit", "load_forecast", "log_likelihood", "report", "simulate", "simulate_corpus",
]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'escalate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))

"""escalate: Bayesian multivariate Hawkes models of truce violations and forecasts of collapse."""

from escalate.data import TruceData
from escalate.errors import (
    DataValidationError,
    EscalateInputError,
    FileFormatError,
    ParameterError,
    SimulationExplosionError,
    SpecError,
)
from escalate.likelihood import log_likelihood
from escalate.spec import ModelSpec, Prior

__version__ = "0.1.0"

__all__ = [
    "DataValidationError", "EscalateInputError", "FileFormatError", "ModelSpec", "ParameterError",
    "Prior", "SimulationExplosionError", "SpecError", "TruceData", "log_likelihood", "__version__",
]

from escalate.simulate import simulate  # noqa: E402

__all__ += ["simulate"]

from escalate.fit import Fit, fit, fit_from_draws  # noqa: E402
from escalate.model import build_model  # noqa: E402
from escalate.persistence import load_fit  # noqa: E402

__all__ += ["Fit", "build_model", "fit", "fit_from_draws", "load_fit"]

from escalate.outcomes import Forecast  # noqa: E402
from escalate.scenarios import CollapseRule, Scenario  # noqa: E402

__all__ += ["CollapseRule", "Forecast", "Scenario"]

from escalate.report import report  # noqa: E402

__all__ += ["report"]

from escalate.backtest import backtest  # noqa: E402

__all__ += ["backtest"]

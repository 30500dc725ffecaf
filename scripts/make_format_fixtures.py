"""Write the saved-fit and saved-forecast fixtures of the current format versions.

Run once per new format version: .venv/bin/python scripts/make_format_fixtures.py
The files land in tests/fixtures/formats/ (fit-vN.zarr, forecast-vN.zarr and the forecast's
table as CSV); tests/inference/test_formats.py loads every version kept there, so files written
by earlier releases stay readable. Data: a small simulated truce (no real data).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import escalate
from escalate.forecasting.result import FORECAST_FORMAT_VERSION
from escalate.inference.result import FORMAT_VERSION

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "formats"


def main() -> None:
    truces = pd.DataFrame({"truce_id": ["t"], "start": ["2024-01-01"], "end": ["2024-03-01"]})
    covariates = pd.DataFrame({"truce_id": ["t", "t"], "start": ["2024-01-01", "2024-02-01"],
                               "verification": [0.2, 0.6], "penalty_tier": [0, 1]})
    truth = {"mu_log": np.log([0.3, 0.2]), "branching": np.array([[0.3, 0.2], [0.2, 0.3]]), "decay": 0.5}
    data = escalate.simulate(truth, truces, covariates, ["x", "y"], seed=1)
    spec = escalate.ModelSpec.from_dict({"name": "format-fixture", "penalty_tiers": 2,
                                         "collapse": [{"kind": "count", "threshold": 5, "window_days": 7}]})
    rng = np.random.default_rng(2)
    n = 8
    draws = {"mu_log": np.log([0.3, 0.2]) + rng.normal(0, 0.05, (n, 2)),
             "branching": 0.25 + rng.uniform(0, 0.05, (n, 2, 2)), "decay": 0.5 + rng.uniform(0, 0.1, n)}
    fit = escalate.fit_from_draws(data, spec, draws)
    forecast = fit.forecast(14, paths=20, seed=3)
    fit.save(OUT / f"fit-v{FORMAT_VERSION}.zarr")
    forecast.save(OUT / f"forecast-v{FORECAST_FORMAT_VERSION}.zarr")
    forecast.to_frame().to_csv(OUT / f"forecast-v{FORECAST_FORMAT_VERSION}.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()

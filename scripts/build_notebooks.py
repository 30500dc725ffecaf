"""Write notebooks/*.ipynb from the cell sources below (outputs stripped).

Run: .venv/bin/python scripts/build_notebooks.py
The notebooks use only escalate's public API and the plotting functions the reports use.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FAST_NOTE = ("> **Fast mode.** The parameters cell below sets `FAST`: `True` (as CI runs these notebooks, with "
             "the environment variable `ESCALATE_FAST=1`) passes `draws=200, tune=200` to every `escalate.fit`, and "
             "its diagnostics will say FAILED. Set `FAST = False` for the full run (4 chains x 1000 draws, about "
             "10 s per fit here).")
#: The parameters cell of every notebook: the fast mode is explicit, in the notebook itself.
PARAMETERS = ("# Parameters: FAST = True is a smoke run (200 draws per chain, diagnostics FAILED); False for results.\n"
              "import os\nFAST = os.environ.get('ESCALATE_FAST') == '1'\n"
              "SAMPLING = {'draws': 200, 'tune': 200} if FAST else {}")
REAL_DATA = ("The real example is not shipped with escalate: `israel_hezbollah()` reads it from `../shared/data` "
             "beside the project, or from the folder in `$ESCALATE_DATA` (see the README).")

NOTEBOOKS = {
    "01-quickstart.ipynb": [
        ("md", "# Quickstart: the Israel-Hezbollah example\n\nLoad the real data, fit the Bayesian Hawkes "
               "model with the daily likelihood, forecast the risk that the 2024 cessation collapses, read the main "
               "figures and export the report. " + REAL_DATA + "\n\n" + FAST_NOTE),
        ("code", "import escalate\nfrom escalate.reporting import plots\nfrom escalate.datasets import israel_hezbollah, israel_hezbollah_readme\n\n"
                 "data = israel_hezbollah()\nprint(data)\nprint(data.provenance['attribution'])"),
        ("md", "The spec in `models/` declares the streams, the penalty tiers, the daily negative binomial "
               "likelihood, the priors, two policy scenarios and what counts as collapse."),
        ("code", "spec = escalate.ModelSpec.from_toml('../models/israel-hezbollah.toml')\n"
                 "fit = escalate.fit(data, spec, seed=1, **SAMPLING)\nprint(fit.diagnostics.verdict)\n"
                 "fit.summary(ci_prob=0.9)"),
        ("code", "forecast = fit.forecast(90, draws=500, paths=100, seed=1)\nprint(forecast.collapse_definition())\n"
                 "forecast.headline()"),
        ("code", "plots.collapse_risk(forecast);"),
        ("code", "from escalate.checking.posterior import fitted_daily_rate, observed_daily_counts\n"
                 "truce = 'lebanon-cessation-2024'\nrate = fitted_daily_rate(fit, truce)\n"
                 "spans = {s: [(0, len(rate['day']), 0.5, 0)] for s in data.streams}\n"
                 "plots.history(observed_daily_counts(data, truce), rate, spans, truce);"),
        ("code", "files = escalate.report(fit, forecast, 'quickstart-report', format='all')\n[str(f) for f in files][:5]"),
    ],
    "02-policy-scenarios.ipynb": [
        ("md", "# Policy scenarios: verification and penalties\n\nWhat a joint verification cell and escalating "
               "penalties do to collapse risk, how to define your own scenarios and collapse rules, and how to "
               "read the contrasts honestly.\n\n" + FAST_NOTE),
        ("code", "import numpy as np\nimport escalate\nfrom escalate import CollapseRule, Scenario\nfrom escalate.reporting import plots\n"
                 "from escalate.datasets import israel_hezbollah\n\n"
                 "fit = escalate.fit(israel_hezbollah(), escalate.ModelSpec.from_toml('../models/israel-hezbollah.toml'), seed=2, **SAMPLING)\n"
                 "print(fit.diagnostics.verdict)"),
        ("md", "## Your own scenarios and rules\n\nA scenario changes covariates from a day after the end of the "
               "data; the status quo is always included. Collapse rules are OR-combined."),
        ("code", "scenarios = [Scenario('cell next week', verification=0.9, from_day=7),\n"
                 "             Scenario('Hezbollah tier down', penalty_tier={'hezbollah': 1}),\n"
                 "             Scenario('mechanism weakens', verification=0.25)]\n"
                 "rules = [CollapseRule.count(threshold=3, window_days=7, streams=['hezbollah']),\n"
                 "         CollapseRule.structural()]\n"
                 "forecast = fit.forecast(60, scenarios=scenarios, collapse=rules, draws=500, paths=100, seed=3)\n"
                 "forecast.headline(days=(7, 30, 60))"),
        ("code", "plots.contrasts(forecast);\nforecast.contrasts().query('horizon_day == 30')"),
        ("md", "## What the data can and cannot tell\n\nThe two truces in the data have verification 0.1 and 0.5 and "
               "Hezbollah's tier 0 and 3. A scenario outside those values rests on the prior: escalate flags it."),
        ("code", "forecast.notes"),
        ("code", "from escalate.model.priors import prior_draws\npost = fit.posterior_draws()\n"
                 "pairs = [(name, prior_draws(fit.spec, name), post[name].ravel()) for name in\n"
                 "         ('mu_verification', 'excite_verification_self', 'excite_verification_cross')]\n"
                 "plots.prior_posterior(pairs);"),
        ("md", "Where posterior and prior coincide, a scenario's effect in that direction is the prior's: its "
               "contrast interval is wide and straddles zero, which is the honest answer."),
        ("code", "forecast.escalation()"),
    ],
    "03-model-checking.ipynb": [
        ("md", "# Model checking: goodness of fit, predictive checks, SBC and the backtest\n\n" + FAST_NOTE),
        ("code", "import numpy as np, pandas as pd\nimport escalate\nfrom escalate.checking import goodness\n"
                 "from escalate.datasets import israel_hezbollah, synthetic, SYNTHETIC_TRUTH\n"
                 "fit = escalate.fit(israel_hezbollah(), escalate.ModelSpec.from_toml('../models/israel-hezbollah.toml'), seed=4, **SAMPLING)"),
        ("md", "## Goodness of fit\n\nDaily counts: randomised PIT residuals should look uniform."),
        ("code", "pit = goodness.randomized_pit(fit)\ngoodness.pit_test(pit)"),
        ("code", "goodness.posterior_predictive_check(fit, draws=100)"),
        ("md", "Exact event times: time rescaling. At the true parameters the rescaled gaps are Exp(1)."),
        ("code", "data = synthetic()\ngoodness.time_rescaling_test(data, SYNTHETIC_TRUTH)"),
        ("md", "## Simulation-based calibration\n\nA few replicates here; `docs/validation.md` has the larger run."),
        ("code", "from escalate.checking.sbc import sbc\n"
                 "truces = pd.DataFrame({'truce_id': ['a'], 'start': [0.0], 'end': [90.0]})\n"
                 "covs = pd.DataFrame({'truce_id': ['a', 'a'], 'start': [0.0, 45.0], 'verification': [0.2, 0.8], 'penalty_tier': [0, 1]})\n"
                 "spec = escalate.ModelSpec.from_dict({'streams': ['x', 'y'], 'penalty_tiers': 2,\n"
                 "    'priors': {'mu_log': {'dist': 'Normal', 'mu': -0.5, 'sigma': 0.4}, 'branching': {'dist': 'Gamma', 'alpha': 2.0, 'beta': 8.0}}})\n"
                 "result = sbc(spec, truces, covs, 3, draws=100, tune=100, seed=1)\nresult.uniformity(bins=2)"),
        ("md", "## Backtest against rivals\n\nTwo origins here; `docs/validation.md` reports weekly origins through the 2024 truce."),
        ("code", "bt = escalate.backtest(israel_hezbollah(), escalate.ModelSpec.from_toml('../models/israel-hezbollah.toml'),\n"
                 "                       ['2025-04-01', '2025-06-01'], horizons=[7, 30], draws=150, tune=150,\n"
                 "                       forecast_draws=50, paths=20, chains=2, scheduler='synchronous')\nbt.summary()"),
        ("code", "bt.skill(n_boot=200)"),
        ("code", "from escalate.reporting import plots\nplots.reliability(bt.reliability('any israel'));"),
    ],
    "04-your-own-data.ipynb": [
        ("md", "# Your own data: from an ACLED export to a report\n\nA small ACLED-layout fixture (invented events; "
               "ACLED's terms forbid redistributing real rows) goes through a party mapping and a coded truce "
               "calendar to a fit and a report. Replace the paths with your own export.\n\n" + FAST_NOTE),
        ("code", "import pandas as pd\nimport escalate\nfrom escalate.importers import read_acled\n"
                 "result = read_acled('../tests/fixtures/importers/acled_iso.csv', '../tests/fixtures/importers/acled_mapping.toml')\n"
                 "print(result.report())"),
        ("code", "print(open('../tests/fixtures/importers/acled_mapping.toml').read())"),
        ("md", "Code the truce calendar and covariate timeline: one row per change, per party where it differs."),
        ("code", "first, last = result.counts['date'].min(), result.counts['date'].max()\n"
                 "truces = pd.DataFrame({'truce_id': ['my-truce'], 'start': [first], 'end': [last + pd.Timedelta(days=1)]})\n"
                 "covariates = pd.DataFrame({'truce_id': ['my-truce'], 'start': [first], 'verification': [0.5], 'penalty_tier': [1]})\n"
                 "data = result.to_truce_data(truces, covariates)\ndata"),
        ("code", "spec = escalate.ModelSpec.from_dict({'streams': list(data.streams), 'penalty_tiers': 3, 'time_resolution': 'day',\n"
                 "    'collapse': [{'kind': 'count', 'threshold': 3, 'window_days': 2}],\n"
                 "    'scenario': [{'name': 'verification cell', 'verification': 0.9}]})\n"
                 "fit = escalate.fit(data, spec, seed=5, **SAMPLING)\nprint(fit.diagnostics.verdict)"),
        ("code", "forecast = fit.forecast(14, draws=300, paths=50)\nforecast.headline(days=(7, 14))"),
        ("code", "escalate.report(fit, forecast, 'my-report', format='html')"),
    ],
    "05-learning-from-ceasefires.ipynb": [
        ("md", "# Learning from ceasefires: a corpus, a collapse hazard, policy effects\n\n"
               "1,726 ETH/PRIO civil-conflict ceasefires (1989-2013) with how each ended, joined to UCDP GED "
               "fatal events of their dyads where a country file exists. The collapse hazard (MODEL.md 6) learns "
               "how verification, enforcement and the truce's provisions change the daily risk of a declared "
               "collapse. The data are not shipped with escalate: `ceasefire_corpus()` reads them from "
               "`../shared/data/ceasefires` (cite Clayton et al. 2022 for ETH/PRIO; UCDP GED is CC BY 4.0, "
               "Sundberg & Melander 2013).\n\n" + FAST_NOTE),
        ("code", "import escalate\nfrom escalate.checking.survival import kaplan_meier\n"
                 "from escalate.datasets import ceasefire_corpus\n\ncorpus = ceasefire_corpus()\n"
                 "print(corpus.summary())\nprint(*corpus.provenance['citations'], sep='\\n')"),
        ("md", "## Kaplan-Meier survival by type, and the model's curve\n\nThe hazard alone "
               "(`models/ceasefire-corpus.toml`: every ceasefire at risk, no violence feedback) against the "
               "model-free Kaplan-Meier estimate with its 90% band."),
        ("code", "fit = escalate.fit(corpus, escalate.ModelSpec.bundled('ceasefire-corpus'), seed=1, **SAMPLING)\n"
                 "print(fit.diagnostics.verdict)\nkm = kaplan_meier(fit.corpus)\n"
                 "km.merge(fit.survival(), on='day')"),
        ("code", "import pandas as pd\nat_risk = fit.corpus.at_risk\n"
                 "pd.concat({kind: kaplan_meier(fit.corpus, mask=(at_risk['definitive'] == value).to_numpy())\n"
                 "           for kind, value in [('definitive', 1), ('cessation', 0)]})"),
        ("md", "## Policy effects\n\nEffects on the log-hazard of declared collapse (negative = fewer "
               "collapses), 94% intervals; `basis` says whether the corpus varies the covariate."),
        ("code", "fit.policy_effects()"),
        ("code", "profile = dict(written=1, mediated=1, bilateral=1, definitive=0, fixed_term=0, partial=0)\n"
                 "pd.concat({'monitored, UN-enforced': fit.new_truce_risk((7, 30, 90), verification=1, penalty_tier=2, covariates=profile),\n"
                 "           'unmonitored': fit.new_truce_risk((7, 30, 90), verification=0, penalty_tier=0, covariates=profile)})"),
        ("md", "## A truce in progress: three probabilities\n\nThe joint model (`models/ceasefire-violence.toml`) "
               "on the 240 ceasefires with GED series: the violence model and the hazard with its feedback term. "
               "A ceasefire still holding at the cutoff is forecast along simulated paths of its violence."),
        ("code", "joint = escalate.fit(corpus, escalate.ModelSpec.bundled('ceasefire-violence'), seed=1, **SAMPLING)\n"
                 "print(joint.diagnostics.verdict)\njoint.policy_effects()"),
        ("code", "t = joint.corpus.truces\nholding = t[(t['end_type'] == 'holding') & t['has_events']]\n"
                 "truce = holding.sort_values('days_at_risk').iloc[0]['truce_id']\n"
                 "forecast = joint.forecast(truce, 90, draws=200, paths=50, seed=1)\n"
                 "forecast.headline(days=(7, 30, 90))"),
    ],
}


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        cells = [cells[0], ("code", PARAMETERS), *cells[1:]]
        nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
                    for kind, src in cells]
        nb.cells[1].metadata["tags"] = ["parameters"]
        nbformat.write(nb, ROOT / "notebooks" / name)


if __name__ == "__main__":
    main()

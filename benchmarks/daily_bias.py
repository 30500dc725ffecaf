"""Same-day bias of the daily likelihoods, by maximum likelihood on long simulated series.

Exact event times are simulated from a two-stream Hawkes process (branching [[0.35, 0.2],
[0.15, 0.3]], baselines 0.3 and 0.2 a day) over one long truce, aggregated to days, and fitted
three ways by maximum likelihood with the kernels' own gradients: the exact-time likelihood
(MODEL.md 3a), the daily likelihood without same-day excitation ("no_same_day", MODEL.md 3b) and
the cascade daily likelihood ("cascade", docs/model.md); ``escalate.checking.same_day`` does the
work. Long series make the estimates' noise small, so what is left is each likelihood's bias.
Prints, per decay and likelihood, every branching entry over its truth and the decay.

Run: .venv/bin/python benchmarks/daily_bias.py [--days 40000] [--seeds 1,2,3]
"""

from __future__ import annotations

import argparse
import os

from escalate.checking.same_day import same_day_bias


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=40_000)
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; one truce of {args.days} days")
    table = same_day_bias(days=args.days, seeds=tuple(int(s) for s in args.seeds.split(",")))
    summary = table.groupby(["decay", "likelihood"], sort=False)[["b00", "b01", "b10", "b11", "decay_ratio"]].mean()
    print("estimate / truth, mean over seeds:")
    print(summary.to_string(float_format=lambda x: f"{x:.3f}"))
    print(f"events per series: {int(table['events'].mean())}; seconds per fit: {table['seconds'].mean():.2f}")


if __name__ == "__main__":
    main()

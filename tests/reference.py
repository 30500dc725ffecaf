"""Independent, obviously-correct references: plain Python loops over MODEL.md's formulas.

Deliberately slow and simple (O(N^2)); used only to check the compiled kernels.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd


def _state_at(cov: pd.DataFrame, truce_id, t, streams):
    """Covariates in force at time t (right-continuous), read straight from the rows."""
    rows = cov[(cov["truce_id"] == truce_id) & (cov["time"] <= t)].sort_values("time", kind="stable")
    v, x, tiers = None, None, {}
    extras = [c for c in cov.columns if c not in ("truce_id", "time", "stream", "verification", "penalty_tier")]
    for t0 in rows["time"].unique():
        at = rows[rows["time"] == t0]
        v = float(at["verification"].iloc[0])
        x = [float(at[c].iloc[0]) for c in extras]
        for _, r in at.iterrows():
            if r["stream"] == "":
                for s in streams:
                    tiers[s] = int(r["penalty_tier"])
        for _, r in at.iterrows():
            if r["stream"] != "":
                tiers[r["stream"]] = int(r["penalty_tier"])
    return v, [tiers[s] for s in streams], x


def _states_of(cov: pd.DataFrame, truce_id, streams):
    """:func:`_state_at` for one truce, each time read from the rows once (the references
    ask for the same times over and over)."""
    cache = {}

    def state(t):
        if t not in cache:
            cache[t] = _state_at(cov, truce_id, t, streams)
        return cache[t]

    return state


def exact_loglik(data, params) -> float:
    """MODEL.md 3a, term by term, with a double loop over events."""
    streams = list(data.streams)
    K = len(streams)
    om = float(params["decay"])
    mt = [0.0] + list(np.atleast_1d(params.get("mu_tier", [])))
    et = [0.0] + list(np.atleast_1d(params.get("excite_tier", [])))
    beta = list(np.atleast_1d(params.get("mu_covariate", [])))
    te = np.asarray(params.get("truce_effect", np.zeros((len(data.truce_ids), K))))
    total = 0.0
    for j, truce_id in enumerate(data.truce_ids):
        T = float(data.truces["duration"].iloc[j])
        ev = data.events[data.events["truce_id"] == truce_id]
        times = ev["time"].tolist()
        ks = [streams.index(s) for s in ev["stream"]]
        state = _states_of(data.covariates, truce_id, streams)

        def mu(t, k):
            v, tiers, x = state(t)
            eta = params["mu_log"][k] + te[j, k] + params.get("mu_verification", 0.0) * v + mt[tiers[k]]
            eta += sum(b * xi for b, xi in zip(beta, x))
            return math.exp(eta)

        def alpha(i, k, s):
            v, tiers, _ = state(s)
            ev_ = params.get("excite_verification_self", 0.0) if i == k else params.get("excite_verification_cross", 0.0)
            return params["branching"][i][k] * math.exp(ev_ * v + et[tiers[k]])

        for tl, kl in zip(times, ks):
            lam = mu(tl, kl)
            for tm, km in zip(times, ks):
                if tm < tl:
                    lam += alpha(km, kl, tm) * om * math.exp(-om * (tl - tm))
            total += math.log(lam)
        # baseline compensator: integrate exactly between consecutive change points
        cuts = sorted(set(data.covariates.loc[data.covariates["truce_id"] == truce_id, "time"]) | {T})
        for a, b in zip(cuts[:-1], cuts[1:]):
            for k in range(K):
                total -= mu(a, k) * (b - a)
        for tm, km in zip(times, ks):
            for k in range(K):
                total -= alpha(km, k, tm) * (1.0 - math.exp(-om * (T - tm)))
    return total


def cascade_nb_day(y, lam, M, phi) -> float:
    """log P(y) of one day under the within-day cascade with NB(lam_l, phi_l) roots, summed
    over every vector of root counts r <= y: P(y | r) = prod_l Pois(y_l - r_l; m_l) det(I - M
    diag((y - r) / m)), m = y M (Good's formula for Poisson offspring)."""
    from scipy import stats

    K = len(y)
    m = y @ M
    total = 0.0
    for r in itertools.product(*[range(int(v) + 1) for v in y]):
        r = np.array(r, dtype=float)
        roots = np.prod([stats.nbinom.pmf(r[l], phi[l], phi[l] / (phi[l] + lam[l])) for l in range(K)])
        rest = np.prod([stats.poisson.pmf(y[l] - r[l], m[l]) for l in range(K)])
        u = np.divide(y - r, m, out=np.zeros(K), where=m > 0)
        total += roots * rest * np.linalg.det(np.eye(K) - M * u[None, :])
    return math.log(total)


def daily_loglik(data, params, observation="poisson", daily_likelihood="no_same_day") -> float:
    """MODEL.md 3b with explicit sums over all earlier days (O(D^2 K^2)). A missing day (NaN)
    has no term and excites with its expected count; an n-day report (the counts table's
    ``span``: n on its last day, -1 before) is one term, its total given the sum of its days'
    expected counts, dispersion n phi. With ``daily_likelihood="cascade"`` a day whose cells are
    all ordinary is one term: log P(y) = sum_l (y_l log c_l - c_l - log y_l!) + log det(I - M
    diag(y / c)), c = Lam + y M, M[i, k] = alpha_{i,k}(day) (1 - (1 - e^-omega) / omega), or
    with negative-binomial roots the sum over root counts of :func:`cascade_nb_day`."""
    from scipy.special import gammaln

    streams = list(data.streams)
    K = len(streams)
    om = float(params["decay"])
    mt = [0.0] + list(np.atleast_1d(params.get("mu_tier", [])))
    et = [0.0] + list(np.atleast_1d(params.get("excite_tier", [])))
    beta = list(np.atleast_1d(params.get("mu_covariate", [])))
    te = np.asarray(params.get("truce_effect", np.zeros((len(data.truce_ids), K))))

    def kappa(lag):
        return (1 - math.exp(-om)) ** 2 * math.exp(-om * (lag - 1)) / om

    def term(n, lam, phi):
        if observation == "poisson":
            return n * math.log(lam) - lam - gammaln(n + 1)
        return (gammaln(n + phi) - gammaln(phi) - gammaln(n + 1)
                + phi * math.log(phi / (phi + lam)) + n * math.log(lam / (phi + lam)))

    total = 0.0
    for j, truce_id in enumerate(data.truce_ids):
        c = data.counts[data.counts["truce_id"] == truce_id]
        if data.history is not None:  # history days (< 0) excite with the truce's first-day state
            c = pd.concat([data.history[data.history["truce_id"] == truce_id], c])
        D = int(round(float(data.truces["duration"].iloc[j])))
        y = {(int(d), s): float(n) for d, s, n in zip(c["day"], c["stream"], c["count"])}
        span = ({(int(d), s): float(n) for d, s, n in zip(c["day"], c["stream"], c["span"])}
                if "span" in c else {})
        first = min(d for d, _ in y) if y else 0
        lam_of = {}
        state = _states_of(data.covariates, truce_id, streams)

        for d in range(min(first, 0), D):
            lams = []
            for k in range(K):
                v, tiers, x = state(max(d, 0))
                eta = params["mu_log"][k] + te[j, k] + params.get("mu_verification", 0.0) * v + mt[tiers[k]]
                eta += sum(b * xi for b, xi in zip(beta, x))
                lam = math.exp(eta)
                for d2 in range(min(first, 0), d):
                    v2, tiers2, _ = state(max(d2, 0))
                    for i in range(K):
                        e = params.get("excite_verification_self", 0.0) if i == k else params.get("excite_verification_cross", 0.0)
                        alpha = params["branching"][i][k] * math.exp(e * v2 + et[tiers2[k]])
                        lam += alpha * y[(d2, streams[i])] * kappa(d - d2)
                lams.append(lam)
            cells = [(d, s) for s in streams]
            if (daily_likelihood == "cascade" and d >= 0 and all(not math.isnan(y[c]) for c in cells)
                    and all(span.get(c, 1.0) == 1.0 for c in cells)):
                v, tiers, _ = state(d)
                share = 1 - (1 - math.exp(-om)) / om
                M = np.array([[params["branching"][i][k] * math.exp(
                    (params.get("excite_verification_self", 0.0) if i == k else params.get("excite_verification_cross", 0.0))
                    * v + et[tiers[k]]) * share for k in range(K)] for i in range(K)])
                yd = np.array([y[c] for c in cells])
                if observation == "poisson":
                    cc = np.array(lams) + yd @ M
                    total += float(np.sum(yd * np.log(cc) - cc) - sum(gammaln(n + 1) for n in yd)
                                   + np.log(np.linalg.det(np.eye(K) - M * (yd / cc)[None, :])))
                else:
                    phis = np.broadcast_to(np.asarray(params["dispersion"], dtype=float), (K,))
                    total += cascade_nb_day(yd, np.array(lams), M, phis)
                for k in range(K):
                    lam_of[(d, streams[k])] = lams[k]
                continue
            for k in range(K):
                key = (d, streams[k])
                if math.isnan(y[key]):
                    y[key] = lams[k]  # missing: its expected count excites the later days
                    continue
                if d < 0:
                    continue
                phi = (float(np.broadcast_to(np.asarray(params["dispersion"], dtype=float), (K,))[k])
                       if observation != "poisson" else 1.0)
                code = span.get(key, 1.0)
                if code == -1.0:
                    continue  # its term is the report's, on the report's last day
                n = int(code)
                window = range(d - n + 1, d + 1)
                mean = sum(lam_of[(jj, streams[k])] for jj in window if jj != d) + lams[k]
                count = sum(y[(jj, streams[k])] for jj in window)
                total += term(count, mean, phi * n)
            for k in range(K):
                lam_of[(d, streams[k])] = lams[k]
    return total

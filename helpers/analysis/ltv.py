"""Customer lifetime value: BG/NBD and Gamma-Gamma (step 4, insight).

The models, implemented here with scipy (the ``lifetimes`` package that made
them popular has not been maintained since 2020):

- **BG/NBD** (Fader, Hardie and Lee 2005, "Counting your customers the easy
  way"): while alive a customer buys at a Poisson rate (rates vary as a
  Gamma(r, alpha) across customers) and after each purchase drops out with
  probability p (p varies as a Beta(a, b)). From each customer's
  ``frequency`` x (repeat purchases), ``recency`` t_x (time from the first to
  the last purchase) and age ``T`` (time since the first purchase) it gives
  the probability the customer is still alive and the expected purchases in
  the next t periods.
- **Gamma-Gamma** (Fader, Hardie and Lee 2005, "RFM and CLV"; Colombo and
  Jiang 1999): the value of a repeat purchase varies around a customer's own
  mean, which varies across customers. It assumes that value and frequency
  are independent (the correlation is reported).

Value over a horizon = expected purchases per month x expected value per
purchase, discounted monthly (as ``lifetimes.GammaGammaFitter.
customer_lifetime_value``). Time is measured in weeks. The inputs per customer
come from the one customer summary (:func:`helpers.analysis.customers.purchase_summary`):
a purchase is a day with a purchase line (the textbook's repeat purchases on
distinct time units after the first), ``x`` the purchase days after the first,
``t_x`` the weeks from the first to the last purchase day, ``T`` the weeks from the
first purchase day to the as-of day, and the value of a purchase day the net amount
of its lines (not below 0).

Fits that do not converge are retried with a growing L2 penalty on the
parameters; when every try fails the customer's historical value is used
instead, and the report says so.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import optimize, sparse, special

__all__ = ["BetaGeo", "GammaGamma", "customer_ltv", "lifetime_value", "lifetime_value_sql",
           "holdout_check", "holdout_check_sql", "holdout_data", "holdout_data_sql",
           "holdout_split", "TABLE_COLUMNS", "REGION_COLUMNS", "WEEKS_PER_MONTH",
           "DAYS_PER_MONTH"]

WEEKS_PER_MONTH = 365.25 / 12 / 7
#: Penalties tried in turn after the configured one.
PENALIZERS = (0.001, 0.01, 0.1)


# --------------------------------------------------------------------------- models


def _compress(*columns: np.ndarray, weights: np.ndarray | None = None
              ) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of the given columns and their summed weights (likelihood weights).

    Without ``weights`` each row counts once; rows of weight 0 are left out.
    """
    stacked = np.column_stack(columns)
    if weights is not None:
        keep = np.asarray(weights, dtype=float) > 0
        stacked, weights = stacked[keep], np.asarray(weights, dtype=float)[keep]
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    counts = (np.bincount(inverse, minlength=len(unique)).astype(float) if weights is None
              else np.bincount(inverse, weights=weights, minlength=len(unique)))
    return [unique[:, i] for i in range(unique.shape[1])], counts


#: L-BFGS-B's tolerances: a fit, and a refit from a nearby optimum (``start``: the
#: holdout check's models, whose parameters move by far more than this).
_TOLERANCE = {"ftol": 1e-12, "gtol": 1e-8}
_REFIT_TOLERANCE = {"ftol": 1e-8, "gtol": 1e-5}


def _minimize(nll, x0: np.ndarray, options: dict = _TOLERANCE) -> optimize.OptimizeResult:
    """L-BFGS-B on log parameters; Nelder-Mead from there when it does not converge."""
    first = optimize.minimize(nll, x0, method="L-BFGS-B", options=options)
    if first.success and np.isfinite(first.fun):
        return first
    second = optimize.minimize(nll, first.x, method="Nelder-Mead",
                               options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-12})
    best = second if np.isfinite(second.fun) and second.fun <= first.fun else first
    best.success = bool(second.success)
    return best


class BetaGeo:
    """The BG/NBD model: who is still buying, and how much more will they buy?

    Parameters
    ----------
    penalizer : float
        L2 penalty on the parameters added to the mean negative
        log-likelihood (0: plain maximum likelihood, as published).

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_ : float
        Total log-likelihood at the optimum (without penalty).
    converged_ : bool
    n_ : int
        Customers fitted.
    """

    def __init__(self, penalizer: float = 0.0):
        self.penalizer = penalizer

    @staticmethod
    def log_likelihood(params, x, t_x, T) -> np.ndarray:
        """Per-customer log-likelihood, Fader, Hardie and Lee (2005), equation 6."""
        r, alpha, a, b = params
        x = np.asarray(x, dtype=float)
        t_x = np.asarray(t_x, dtype=float)
        T = np.asarray(T, dtype=float)
        a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        a2 = (special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
              - special.gammaln(a + b + x))
        a3 = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                          - (r + x) * np.log(alpha + t_x), -np.inf)
        return a1 + a2 + np.logaddexp(a3, a4)

    def fit(self, frequency, recency, T, *, weights=None, start=None) -> BetaGeo:
        """Maximum likelihood fit on customers' (x, t_x, T); returns ``self``.

        Parameters
        ----------
        frequency, recency, T : array-like
            Repeat purchases ``x``, recency ``t_x`` and age ``T`` per customer.
        weights : array-like, optional
            How many times each customer counts (e.g. repeated rows); default once
            each.
        start : BetaGeo, optional
            A fitted model on the same customers whose optimum starts the search,
            with looser tolerances (a refit: ``ftol`` 1e-8, ``gtol`` 1e-5).
        """
        x, t_x, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        if len(x) == 0:
            raise ValueError("no customers to fit")
        if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > age + 1e-9):
            raise ValueError("need frequency >= 0 and 0 <= recency <= T")
        scale = 10.0 / max(float(age.max()), 1e-9)  # conditioning, undone below
        (ux, ut, uT), weight = _compress(x, t_x * scale, age * scale, weights=weights)
        total = weight.sum()

        def nll(log_params):
            with np.errstate(all="ignore"):  # a trial step far out: inf, handled below
                params = np.exp(log_params)
                ll = self.log_likelihood(params, ux, ut, uT)
                value = -(weight * ll).sum() / total + self.penalizer * np.sum(params**2)
            return value if np.isfinite(value) else 1e12

        x0 = np.zeros(4)
        if start is not None:
            p = start.params_
            x0 = np.log([p["r"], p["alpha"] * scale, p["a"], p["b"]])
        result = _minimize(nll, x0, _TOLERANCE if start is None else _REFIT_TOLERANCE)
        r, alpha, a, b = np.exp(result.x)
        self.params_ = {"r": float(r), "alpha": float(alpha / scale), "a": float(a),
                        "b": float(b)}
        values = np.array(list(self.params_.values()))
        self.converged_ = bool(result.success and np.all(np.isfinite(values))
                               and np.all((values > 1e-6) & (values < 1e6)))
        with np.errstate(all="ignore"):
            self.log_likelihood_ = float(self.log_likelihood(list(self.params_.values()),
                                                             x, t_x, age).sum())
        self.n_ = int(len(x))
        return self

    def _p(self):
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(still buying | x, t_x, T); 1 for customers without repeat purchases."""
        r, alpha, a, b = self._p()
        x, t_x, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_ratio = (np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                         + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x)))
            odds = np.where(x > 0, np.exp(log_ratio), 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """Expected purchases in the next ``t`` periods given (x, t_x, T) (FHL 2005, eq. 10).

        Valid for any ``a != 1`` (the factor ``(a + b + x - 1) / (a - 1)`` and
        the bracket change sign together when ``a < 1``).
        """
        r, alpha, a, b = self._p()
        x, t_x, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        t = np.asarray(t, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + age + t))
            first = (a + b + x - 1) / (a - 1)
            second = 1 - ((alpha + age) / (alpha + age + t)) ** (r + x) * hyp
            log_ratio = (np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                         + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x)))
            denominator = 1 + np.where(x > 0, np.exp(log_ratio), 0.0)
        return first * second / denominator

    def expected_purchases_new(self, t) -> np.ndarray:
        """Expected purchases of a new customer in ``t`` periods (FHL 2005, eq. 9)."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype=float)
        hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


class GammaGamma:
    """The Gamma-Gamma model of the value per purchase.

    Fitted on customers with at least one repeat purchase and a positive mean
    repeat value.

    Attributes
    ----------
    params_ : dict
        ``p``, ``q``, ``v``.
    converged_ : bool
    n_ : int
    """

    def __init__(self, penalizer: float = 0.0):
        self.penalizer = penalizer

    @staticmethod
    def log_likelihood(params, x, m) -> np.ndarray:
        """Per-customer log-likelihood of the mean value ``m`` of ``x`` purchases."""
        p, q, v = params
        x = np.asarray(x, dtype=float)
        m = np.asarray(m, dtype=float)
        return (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q)
                + q * np.log(v) + (p * x - 1) * np.log(m) + p * x * np.log(x)
                - (p * x + q) * np.log(x * m + v))

    def fit(self, frequency, monetary_value, *, weights=None, start=None) -> GammaGamma:
        """Maximum likelihood fit; returns ``self``.

        ``weights`` and ``start`` as in :meth:`BetaGeo.fit`.
        """
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
        keep = (x > 0) & (m > 0)
        if (keep & (w > 0)).sum() < 2:
            raise ValueError("Gamma-Gamma needs at least 2 customers with repeat purchases")
        x, m, w = x[keep], m[keep], w[keep]
        scale = 1.0 / float(np.median(m))  # conditioning: v is in money units
        (ux, um), weight = _compress(x, m * scale, weights=w)
        total = weight.sum()

        def nll(log_params):
            with np.errstate(all="ignore"):  # a trial step far out: inf, handled below
                params = np.exp(log_params)
                ll = self.log_likelihood(params, ux, um)
                value = -(weight * ll).sum() / total + self.penalizer * np.sum(params**2)
            return value if np.isfinite(value) else 1e12

        x0 = np.zeros(3)
        if start is not None:
            x0 = np.log([start.params_["p"], start.params_["q"], start.params_["v"] * scale])
        result = _minimize(nll, x0, _TOLERANCE if start is None else _REFIT_TOLERANCE)
        p, q, v = np.exp(result.x)
        self.params_ = {"p": float(p), "q": float(q), "v": float(v / scale)}
        values = np.array(list(self.params_.values()))
        self.converged_ = bool(result.success and np.all(np.isfinite(values))
                               and np.all((values > 1e-6) & (values < 1e9)) and q > 1)
        self.n_ = int(len(x))
        return self

    def expected_value(self, frequency, monetary_value) -> np.ndarray:
        """E[value per purchase | x, m]: the customer's mean shrunk to the population mean.

        ``(p (v + x m)) / (p x + q - 1)``; for ``x == 0`` the population mean
        ``p v / (q - 1)``.
        """
        p, q, v = self.params_["p"], self.params_["q"], self.params_["v"]
        x = np.asarray(frequency, dtype=float)
        m = np.where(x > 0, np.asarray(monetary_value, dtype=float), 0.0)
        return p * (v + x * m) / (p * x + q - 1)


# --------------------------------------------------------------------------- LTV


def _fit_with_retries(make, fit_args, penalizer: float) -> tuple[object | None, list[dict]]:
    attempts = []
    for pen in (penalizer, *[p for p in PENALIZERS if p > penalizer]):
        try:
            model = make(pen).fit(*fit_args)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            attempts.append({"penalizer": pen, "converged": False, "error": str(exc)})
            continue
        attempts.append({"penalizer": pen, "converged": model.converged_,
                         "params": model.params_})
        if model.converged_:
            return model, attempts
    return None, attempts



#: Columns of the lifetime value table (:func:`lifetime_value`, :func:`customer_ltv`).
TABLE_COLUMNS = ["customer_id", "frequency", "recency_weeks", "T_weeks", "monetary_value",
                 "p_alive", "expected_purchases", "expected_value", "ltv", "ltv_low",
                 "ltv_high", "historical_value", "method"]
#: Columns of the per-region table (:func:`lifetime_value`).
REGION_COLUMNS = ["region", "customers", "repeat_customers", "ltv", "ltv_low", "ltv_high"]
#: The model's columns: NaN when lifetime value is not shown.
_MODEL_COLUMNS = ["p_alive", "expected_purchases", "expected_value", "ltv", "ltv_low",
                  "ltv_high"]


#: Customers valued at once by :func:`_discounted` (its arrays are this many rows by the
#: horizon's months; each customer's value depends on its own row only).
DISCOUNTED_ROWS = 2**18


def _discounted(bg: BetaGeo, steps: np.ndarray, discount: np.ndarray, x, t_x, age
                ) -> tuple[np.ndarray, np.ndarray]:
    """Discounted expected purchases over the horizon, and undiscounted, per customer;
    :data:`DISCOUNTED_ROWS` customers at a time (5.4M customers x 12 months at once held
    about 1.3 GB; block by block the values are the same to the bit)."""
    x, t_x, age = (np.asarray(v, dtype=float) for v in (x, t_x, age))
    discounted, purchases = np.empty(len(x)), np.empty(len(x))
    for start in range(0, len(x), DISCOUNTED_ROWS):
        part = slice(start, start + DISCOUNTED_ROWS)
        cumulative = np.column_stack([bg.expected_purchases(s, x[part], t_x[part], age[part])
                                      for s in steps])
        per_month = np.diff(np.column_stack([np.zeros(len(cumulative)), cumulative]), axis=1)
        discounted[part], purchases[part] = (per_month * discount).sum(axis=1), cumulative[:, -1]
    return discounted, purchases


def _hessian(f, theta: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``theta``."""
    k = len(theta)
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * step, np.eye(k)[j] * step
            hess[i, j] = hess[j, i] = (f(theta + ei + ej) - f(theta + ei - ej)
                                       - f(theta - ei + ej) + f(theta - ei - ej)) / (4 * step**2)
    return hess


def _parameter_draws(log_likelihood, params: dict, data: tuple, weight: np.ndarray,
                     size: int, rng: np.random.Generator) -> np.ndarray | None:
    """Draws of a fitted model's parameters from their large-sample distribution.

    The log-parameters are taken as normal around the estimate with the inverse of the
    observed information (the Hessian of the negative log-likelihood at the optimum,
    by central differences) as covariance. None when that matrix is not positive
    definite (a flat or boundary optimum: no interval can be stated).
    """
    theta = np.log(np.array(list(params.values()), dtype=float))

    def nll(log_params):
        with np.errstate(all="ignore"):
            return -float((weight * log_likelihood(np.exp(log_params), *data)).sum())

    try:
        cov = np.linalg.inv(_hessian(nll, theta))
        cov = (cov + cov.T) / 2
        if not np.all(np.isfinite(cov)) or np.linalg.eigvalsh(cov).min() <= 0:
            return None
    except np.linalg.LinAlgError:
        return None
    return np.exp(rng.multivariate_normal(theta, cov, size=size))


#: Largest number of values one array of the vectorised interval draws holds: a chunk of
#: draws of :meth:`_Horizon.shared` (draws x distinct (frequency, age) pairs x monthly
#: steps) and a block of customers of :class:`_ValueBlocks` (distinct customer rows x
#: draws). 2**20 float64 values are 8 MiB; the draws hold a few such arrays at a time.
CHUNK_VALUES = 2**20


class _Horizon:
    """Discounted expected purchases over the horizon of given customers under draws of
    BG/NBD's parameters, vectorised over the draws: called with (draws, 4) parameters
    (``r``, ``alpha``, ``a``, ``b``), it returns (customers, draws), the first value of
    :func:`_discounted` for a :class:`BetaGeo` with each draw's parameters, to rounding.

    Exact, not an approximation: in :meth:`BetaGeo.expected_purchases` the
    hypergeometric term depends on ``x`` and ``T`` only (``t_x`` enters through the
    probability-alive denominator, constant over the horizon), so ``hyp2f1`` is
    evaluated once per distinct (x, T), draw and step, and each customer's value is
    its pair's discounted sum divided by its own denominator (whose logarithms are
    taken once per distinct ``x`` and week value). The order of the operations differs
    from :func:`_discounted` (the discounted sum is taken before the division, and by
    parts), so the values agree to about 1e-15 relative, not bit for bit.

    In two parts, so that customers can be valued a block at a time under all the draws
    (:class:`_ValueBlocks`): :meth:`shared` evaluates what every customer's value takes
    from (per distinct (x, T) pair, distinct ``x`` and week value, and draw: as many as
    the history has days and frequencies, however many customers share them), and
    :meth:`values` the values of any of the customers from it. Calling the object does
    both for all the customers. The values do not depend on how the customers or the
    draws are split: every operation is elementwise, or a sum over the months of one
    draw and pair taken over all the pairs at once.
    """

    def __init__(self, steps: np.ndarray, discount: np.ndarray, x, t_x, age):
        x, t_x, age = (np.asarray(v, dtype=float) for v in (x, t_x, age))
        pairs, pair_of = np.unique(np.column_stack([x, age]), axis=0, return_inverse=True)
        self.pairs, self.pair_of = len(pairs), pair_of.ravel()
        self.px, self.pT = pairs[:, 0][None, :, None], pairs[:, 1][None, :, None]
        self.steps = np.asarray(steps, dtype=float)[None, None, :]
        discount = np.asarray(discount, dtype=float)
        # sum_k d_k (c_k - c_k-1) over k = 1..n with c_0 = 0 is sum_k c_k (d_k - d_k+1)
        # with d_n+1 = 0: one product per draw and pair (the cumulative c_k all have the
        # sign of the first factor, the weights are positive: nothing cancels)
        self.by_parts = discount - np.append(discount[1:], 0.0)
        self.x, self.none = x[:, None], ~(x > 0)
        self.xs, x_of = np.unique(x, return_inverse=True)
        self.x_of = x_of.ravel()
        weeks, week_of = np.unique(np.concatenate([age, t_x]), return_inverse=True)
        self.weeks, self.age_of, self.tx_of = weeks, week_of[:len(x)], week_of[len(x):]

    def __call__(self, params: np.ndarray) -> np.ndarray:
        return self.values(params, self.shared(params))

    def shared(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the customers' values under the draws ``params`` (draws, 4) take from.

        Returns
        -------
        numerator : ndarray
            (pairs, draws): the discounted sum over the horizon of each distinct (x, T),
            before the division by the customer's probability-alive denominator;
            evaluated over chunks of draws of at most :data:`CHUNK_VALUES` (draw, pair,
            month) values. Each chunk takes all the pairs: the sum over the months is a
            matrix product whose rounding depends on where a pair sits in the matrix.
        log_b : ndarray
            (distinct x, draws): ``log a - log(b + x - 1)``.
        log_weeks : ndarray
            (distinct week values, draws): ``log(alpha + w)``.
        """
        params = np.asarray(params, dtype=float)
        chunk = max(1, CHUNK_VALUES // max(self.pairs * self.steps.size, 1))
        numerator = np.empty((self.pairs, len(params)))
        for start in range(0, len(params), chunk):
            part = slice(start, start + chunk)
            numerator[:, part] = self._numerator(params[part])
        with np.errstate(all="ignore"):
            r, alpha, a, b = (params[:, i][None, :] for i in range(4))
            log_b = np.log(a) - np.log(np.maximum(b + self.xs[:, None] - 1, 1e-300))
            log_weeks = np.log(alpha + self.weeks[:, None])
        return numerator, log_b, log_weeks

    def _numerator(self, params: np.ndarray) -> np.ndarray:
        """(pairs, draws) of :meth:`shared`'s numerator for a chunk of draws."""
        px, pT, s = self.px, self.pT, self.steps
        with np.errstate(all="ignore"):
            # as BetaGeo.expected_purchases, per (draw, pair, step)
            r, alpha, a, b = (params[:, i][:, None, None] for i in range(4))
            total = alpha + pT + s
            hyp = special.hyp2f1(r + px, b + px, a + b + px - 1, s / total)
            # 1 - ((alpha + T) / (alpha + T + s)) ** (r + x) * hyp, in place
            second = np.divide(alpha + pT, total, out=total)
            np.power(second, r + px, out=second)
            second *= hyp
            np.subtract(1, second, out=second)
            first = (a + b + px - 1) / (a - 1)
            # sum over months of discount_k (second_k - second_k-1), summed by parts
            return (first[..., 0] * (second @ self.by_parts)).T

    def values(self, params: np.ndarray, shared: tuple, rows=slice(None)) -> np.ndarray:
        """(len(rows), draws): the values of the customers ``rows`` (indices or a slice of
        the customers given) under the draws ``params``, from their :meth:`shared`."""
        numerator, log_b, log_weeks = shared
        with np.errstate(all="ignore"):
            # the probability-alive denominator, per (customer, draw), as
            # BetaGeo.expected_purchases: log a - log(b + x - 1)
            # + (r + x) (log(alpha + T) - log(alpha + t_x)), exp, 0 where x = 0, + 1
            r = np.asarray(params, dtype=float)[:, 0][None, :]
            ratio = log_weeks[self.age_of[rows]]
            ratio -= log_weeks[self.tx_of[rows]]
            ratio *= r + self.x[rows]
            ratio += log_b[self.x_of[rows]]
            np.exp(ratio, out=ratio)
            ratio[self.none[rows]] = 0.0
            ratio += 1
            out = numerator[self.pair_of[rows]]
            out /= ratio
            return out


def _discounted_draws(params: np.ndarray, steps: np.ndarray, discount: np.ndarray, x, t_x, age
                      ) -> np.ndarray:
    """(customers, draws): :class:`_Horizon` of the customers, under all the draws at once."""
    return _Horizon(steps, discount, x, t_x, age)(params)


class _ValueBlocks:
    """Lifetime value under ``size`` draws of the models' parameters (the model's own
    uncertainty: :func:`_parameter_draws`), every customer valued with each draw, a block
    of customers at a time.

    The customers are taken as their distinct (x, t_x, T, value key) rows. The draws are
    made when the object is made (BG/NBD's, then Gamma-Gamma's, from one generator of
    ``seed``); a draw whose Gamma-Gamma ``q`` is at most 1 (no finite mean value) says
    nothing and is left out (``kept`` are the others). Iterating gives, block by block of
    at most :data:`CHUNK_VALUES` // ``kept`` rows (at least one), the rows' values under
    every kept draw (:class:`_Horizon`: :meth:`_Horizon.shared` once for all the
    blocks), so the whole (rows, draws) matrix is never held. A value is NaN where a
    customer could not be valued under a draw; whether a draw valued nobody is known
    only after the last block (:func:`_intervals`, :func:`_draws`).

    Attributes
    ----------
    defined : bool
        False when a model's information matrix is not positive definite (no draws:
        iterating gives nothing).
    rows : int
        Distinct rows.
    inverse : ndarray
        The distinct row of each customer.
    count : ndarray
        Customers per distinct row.
    kept : int
        Draws kept (the columns of each block).
    """

    def __init__(self, x, t_x, age, value_key, *, bg: BetaGeo, gg: GammaGamma | None,
                 steps, discount, size: int, seed: int):
        rows, inverse = np.unique(np.column_stack([x, t_x, age, value_key]), axis=0,
                                  return_inverse=True)
        self.inverse = inverse.ravel()
        self.count = np.bincount(self.inverse, minlength=len(rows)).astype(float)
        self.rows, self.defined, self.kept = len(rows), False, 0
        ux, ut, uT, uv = (rows[:, i] for i in range(4))
        rng = np.random.default_rng(seed)
        bg_draws = _parameter_draws(BetaGeo.log_likelihood, bg.params_, (ux, ut, uT),
                                    self.count, size, rng)
        if bg_draws is None:
            return
        gg_draws = None
        if gg is not None:
            buyers = (ux > 0) & (uv > 0)
            gg_draws = _parameter_draws(GammaGamma.log_likelihood, gg.params_,
                                        (ux[buyers], uv[buyers]), self.count[buyers], size, rng)
            if gg_draws is None:
                return
            keep = gg_draws[:, list(gg.params_).index("q")] > 1
            bg_draws, gg_draws = bg_draws[keep], gg_draws[keep]
            self.gg = tuple(gg_draws[:, list(gg.params_).index(k)] for k in ("p", "q", "v"))
        else:
            self.gg = None
        self.bg = bg_draws[:, [list(bg.params_).index(k) for k in ("r", "alpha", "a", "b")]]
        self.defined, self.kept = True, len(self.bg)
        # the purchase model needs (x, t_x, age) only: many customers share them (their
        # values differ), so the expected purchases are computed once per distinct triple
        triples, back = np.unique(rows[:, :3], axis=0, return_inverse=True)
        self.back = back.ravel()
        self.horizon = _Horizon(steps, discount, *(triples[:, i] for i in range(3)))
        self.x, self.value = ux[:, None], uv[:, None]
        self.mx = np.where(ux > 0, uv, 0.0)[:, None]   # as GammaGamma.expected_value
        self.block = max(1, CHUNK_VALUES // max(self.kept, 1))

    def __iter__(self):
        """(slice of the distinct rows, their values (rows, kept draws)) per block."""
        if not self.defined:
            return
        shared = self.horizon.shared(self.bg)
        for start in range(0, self.rows, self.block):
            part = slice(start, start + self.block)
            with np.errstate(all="ignore"):
                value = self.horizon.values(self.bg, shared, self.back[part])
                if self.gg is not None:   # as GammaGamma.expected_value
                    p, q, v = self.gg
                    x = self.x[part]
                    value *= p * (v + x * self.mx[part]) / (p * x + q - 1)
                else:
                    value *= self.value[part]
            yield part, value


def _draws(x, t_x, age, value_key, *, bg: BetaGeo, gg: GammaGamma | None,
           steps, discount, size: int, seed: int) -> tuple[np.ndarray | None, np.ndarray]:
    """The whole matrix of :class:`_ValueBlocks`' values, a draw under which no customer
    could be valued left out: the reference the tests hold :func:`_intervals` to (the
    report takes :func:`_intervals`, which never holds it).

    Returns
    -------
    draws : ndarray or None
        (distinct customer rows, valued draws): value over the horizon; None when a
        model's information matrix is not positive definite.
    inverse : ndarray
        The row of ``draws`` of each customer.
    """
    blocks = _ValueBlocks(x, t_x, age, value_key, bg=bg, gg=gg, steps=steps,
                          discount=discount, size=size, seed=seed)
    if not blocks.defined:
        return None, blocks.inverse
    draws = np.concatenate([value for _, value in blocks])
    valued = ~np.all(np.isnan(draws), axis=0)
    return (draws if valued.all() else draws[:, valued]), blocks.inverse


def _row_quantiles(draws: np.ndarray, levels: list[float]) -> np.ndarray:
    """``np.nanquantile(draws, levels, axis=1)``: the rows without NaN (all, as a rule)
    in one vectorised call, the others (NaN left out) row by row as ``nanquantile`` does."""
    nan_rows = np.isnan(draws).any(axis=1)
    if not nan_rows.any():
        return np.quantile(draws, levels, axis=1)
    out = np.empty((len(levels), len(draws)))
    out[:, ~nan_rows] = np.quantile(draws[~nan_rows], levels, axis=1)
    out[:, nan_rows] = np.nanquantile(draws[nan_rows], levels, axis=1)
    return out


class _Intervals(NamedTuple):
    """What the parameter draws say (:func:`_intervals`)."""

    #: Draws under which some customer was valued.
    valued: int
    #: (levels, customers): each customer's quantiles of its values under the draws.
    bounds: np.ndarray
    #: (valued,): the sum of all the customers' values under each valued draw.
    total: np.ndarray
    #: (groups, valued): the sum of each group's customers' values under each valued draw.
    groups: np.ndarray


def _intervals(x, t_x, age, value_key, *, bg: BetaGeo, gg: GammaGamma | None, steps,
               discount, size: int, seed: int, levels: list[float],
               groups: np.ndarray | None = None, n_groups: int = 0) -> _Intervals | None:
    """The quantiles of each customer's value under the parameter draws, and the values of
    all the customers and of each group summed per draw, a block of customers at a time
    (:class:`_ValueBlocks`): the memory is a few blocks of :data:`CHUNK_VALUES` values,
    the per-draw sums and what is held per distinct customer row or (x, T) pair, never
    the whole (customers, draws) matrix.

    The same as taking them from :func:`_draws`' matrix: the quantiles bit for bit, the
    sums to rounding (added block by block). A draw under which no customer could be
    valued is left out of the matrix; it is known only after the last block, so each
    block takes the quantiles over the draws under which some of its own customers were
    valued (a draw left out is one of those it leaves out; a customer's values are the
    same, in the same order, NaN left out as :func:`_row_quantiles` does) and the sums
    are kept for every draw and the valued ones picked at the end. A customer not valued
    under a draw counts 0 in that draw's sums.

    Parameters
    ----------
    x, t_x, age, value_key, bg, gg, steps, discount, size, seed
        As :class:`_ValueBlocks`.
    levels : list of float
        The quantiles' levels.
    groups : ndarray, optional
        Each customer's group (e.g. region) as a code from 0 to ``n_groups`` - 1; -1 in
        none.
    n_groups : int
        Number of groups.

    Returns
    -------
    _Intervals or None
        None when a model's information matrix is not positive definite.
    """
    blocks = _ValueBlocks(x, t_x, age, value_key, bg=bg, gg=gg, steps=steps,
                          discount=discount, size=size, seed=seed)
    if not blocks.defined:
        return None
    codes = np.full(len(blocks.inverse), -1) if groups is None else np.asarray(groups)
    member = codes >= 0
    # customers per (group, distinct row): columns sliced per block
    members = sparse.csc_matrix((np.ones(int(member.sum())),
                                 (codes[member], blocks.inverse[member])),
                                shape=(n_groups, blocks.rows))
    bounds = np.full((len(levels), blocks.rows), np.nan)
    total = np.zeros(blocks.kept)
    sums = np.zeros((n_groups, blocks.kept))
    valued = np.zeros(blocks.kept, dtype=bool)
    for part, value in blocks:
        seen = ~np.all(np.isnan(value), axis=0)
        valued |= seen
        if seen.any():
            bounds[:, part] = _row_quantiles(value if seen.all() else value[:, seen], levels)
        if not np.all(np.isfinite(value)):
            np.nan_to_num(value, copy=False)
        total += blocks.count[part] @ value
        sums += members[:, part] @ value
    return _Intervals(valued=int(valued.sum()), bounds=bounds[:, blocks.inverse],
                      total=total[valued], groups=sums[:, valued])


def _not_shown(summary: pd.DataFrame) -> pd.DataFrame:
    """The table when lifetime value is not shown: the customers' facts, no model values."""
    table = pd.DataFrame({
        "customer_id": summary["customer_id"].to_numpy(),
        "frequency": summary["repeat_purchases"].to_numpy(),
        "recency_weeks": summary["span_weeks"].to_numpy(dtype=float),
        "T_weeks": summary["tenure_weeks"].to_numpy(dtype=float),
        "monetary_value": summary["repeat_value"].to_numpy(dtype=float),
        **{c: np.full(len(summary), np.nan) for c in _MODEL_COLUMNS},
        "historical_value": summary["monetary"].to_numpy(dtype=float),
        "method": "none",
    })
    return table[TABLE_COLUMNS]


def _model(summary: pd.DataFrame, *, months: int, discount_monthly: float, penalizer: float,
           min_repeat_customers: int, periods_per_month: float, interval_draws: int,
           interval: float, seed: int, regions: pd.Series | None
           ) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """:func:`customer_ltv` with the per-region totals (see there and :func:`lifetime_value`)."""
    report: dict = {"customers": int(len(summary)), "months": months,
                    "discount_monthly": discount_monthly, "time_unit": "weeks",
                    "repeat_customers": int((summary["repeat_purchases"] > 0).sum()),
                    "method": "none"}
    empty_regions = pd.DataFrame(columns=REGION_COLUMNS)
    if summary.empty:
        report["reason_key"] = "no_purchases"
        return _not_shown(summary), report, empty_regions
    x = summary["repeat_purchases"].to_numpy(dtype=float)
    t_x = summary["span_weeks"].to_numpy(dtype=float)
    age = summary["tenure_weeks"].to_numpy(dtype=float)
    m = summary["repeat_value"].to_numpy(dtype=float)
    steps = np.arange(1, months + 1) * periods_per_month
    discount = (1 + discount_monthly) ** -np.arange(1, months + 1)

    bg = gg = None
    if report["repeat_customers"] < min_repeat_customers:
        report.update(reason_key="few_repeat", min_repeat_customers=int(min_repeat_customers))
    else:
        bg, report["bgnbd_attempts"] = _fit_with_retries(BetaGeo, (x, t_x, age), penalizer)
        if bg is None:
            report["reason_key"] = "bgnbd_failed"
        elif abs(bg.params_["a"] - 1) < 1e-6:
            report["reason_key"] = "bgnbd_a_one"
            bg = None
    if bg is None:
        return _not_shown(summary), report, empty_regions

    report["bgnbd"] = bg.params_
    gg, report["gammagamma_attempts"] = _fit_with_retries(GammaGamma, (x, m), penalizer)
    repeat = (x > 0) & (m > 0)
    # Undefined (not a warning in the report) when frequency or value is the same for all.
    varied = repeat.sum() > 2 and np.ptp(x[repeat]) > 0 and np.ptp(m[repeat]) > 0
    report["frequency_value_correlation"] = (
        float(np.corrcoef(x[repeat], m[repeat])[0, 1]) if varied else None)
    historical = summary["monetary"].to_numpy(dtype=float)
    bought = np.maximum(historical, 0.0)  # returns beyond purchases: worth nothing, not less
    if gg is not None:
        report["gammagamma"] = gg.params_
        value = gg.expected_value(x, m)
        method = "bgnbd+gammagamma"
    else:
        value = bought / (x + 1)
        method = "bgnbd+historical aov"
    discounted, purchases = _discounted(bg, steps, discount, x, t_x, age)
    ltv = discounted * value
    low = high = np.full(len(x), np.nan)
    codes, names = _region_codes(summary, regions) if regions is not None else (None, None)
    region_sums = None
    if interval_draws > 0:
        levels = [(1 - interval) / 2, (1 + interval) / 2]
        found = _intervals(x, t_x, age, m if gg is not None else value, bg=bg, gg=gg,
                           steps=steps, discount=discount, size=interval_draws, seed=seed,
                           levels=levels, groups=codes,
                           n_groups=0 if names is None else len(names))
        valued = 0 if found is None else found.valued
        report["intervals"] = {"method": "parameter_draws", "draws": int(interval_draws),
                               "valued": valued, "interval": interval, "seed": int(seed)}
        if found is not None and valued >= max(interval_draws / 2, 2):
            low, high = found.bounds
            report["total_ltv_low"], report["total_ltv_high"] = (
                float(v) for v in np.quantile(found.total, levels))
            region_sums = found.groups
    table = pd.DataFrame({
        "customer_id": summary["customer_id"].to_numpy(),
        "frequency": summary["repeat_purchases"].to_numpy(),
        "recency_weeks": t_x, "T_weeks": age, "monetary_value": m,
        "p_alive": bg.probability_alive(x, t_x, age), "expected_purchases": purchases,
        "expected_value": value, "ltv": ltv, "ltv_low": low, "ltv_high": high,
        "historical_value": historical, "method": method,
    })[TABLE_COLUMNS]
    report["method"] = method
    report["total_ltv"] = float(np.nansum(ltv))
    by_region = (_by_region(table, codes, names, region_sums, interval, report)
                 if regions is not None else empty_regions)
    return table, report, by_region


def _region_codes(summary: pd.DataFrame, regions: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each customer's region (``regions``: index ``customer_id``) as a code into the sorted
    region names, -1 for a customer in none; and the names."""
    region = summary["customer_id"].map(regions).to_numpy(dtype=object)
    known = pd.notna(region)
    codes = np.full(len(region), -1, dtype=np.intp)
    found, names = pd.factorize(pd.Series(region[known]), sort=True)
    codes[known] = found
    return codes, names


def _by_region(table: pd.DataFrame, codes: np.ndarray, names: pd.Index,
               sums: np.ndarray | None, interval: float, report: dict) -> pd.DataFrame:
    """Value per region (:func:`_region_codes`) with the interval of the region's total:
    the quantiles of ``sums`` (regions, draws), the region's value under each draw
    (:func:`_intervals`), None without intervals."""
    known = codes >= 0
    report["customers_without_region"] = int((~known).sum())
    frame = pd.DataFrame({"region": names[codes[known]], "ltv": table["ltv"].to_numpy()[known],
                          "repeat": (table["frequency"].to_numpy()[known] > 0)})
    out = frame.groupby("region", sort=True).agg(customers=("ltv", "size"),
                                                repeat_customers=("repeat", "sum"),
                                                ltv=("ltv", "sum"))
    out = out.assign(ltv_low=np.nan, ltv_high=np.nan)
    if sums is not None:
        q = np.quantile(sums, [(1 - interval) / 2, (1 + interval) / 2], axis=1)
        out = out.assign(ltv_low=q[0], ltv_high=q[1])
    out = out.reset_index().astype({"customers": "int64", "repeat_customers": "int64"})
    return out.sort_values(["ltv", "region"], ascending=[False, True],
                           kind="mergesort")[REGION_COLUMNS].reset_index(drop=True)


def customer_ltv(summary: pd.DataFrame, *, months: int = 12,
                 discount_monthly: float = 0.01, penalizer: float = 0.0,
                 min_repeat_customers: int = 20,
                 periods_per_month: float = WEEKS_PER_MONTH, interval_draws: int = 0,
                 interval: float = 0.9, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Probability alive, expected purchases and value over ``months`` per customer.

    The model alone, fitted on the whole history; :func:`lifetime_value` decides
    whether the data can carry it (the holdout check) before the report shows it.

    Parameters
    ----------
    summary : DataFrame
        :func:`helpers.analysis.customers.purchase_summary` taken on the day the
        prediction starts (usually the day after the period): ``customer_id``,
        ``repeat_purchases`` (x), ``span_weeks`` (t_x), ``tenure_weeks`` (T),
        ``repeat_value`` (mean value of a repeat purchase day) and ``monetary``.
    months : int
        Horizon of the value (12: ``ltv_12m``).
    discount_monthly : float
        Monthly discount rate of future value.
    penalizer : float
        L2 penalty of the first fit; larger ones (:data:`PENALIZERS`) are
        tried when a fit does not converge.
    min_repeat_customers : int
        Fewer customers with repeat purchases than this: no model (too little
        data to estimate dropout).
    periods_per_month : float
        Weeks per month for the monthly steps.
    interval_draws : int
        Draws of the models' parameters for ``ltv_low`` / ``ltv_high`` (0: no
        intervals): the log-parameters are normal around the estimate with the inverse
        observed information as covariance (the models' own large-sample
        uncertainty), and every customer is valued with each draw. No refit; the
        draws are evaluated together, exactly (:class:`_Horizon`: the hypergeometric
        term once per distinct frequency and age, draw and month): 500 draws take
        about 2 s of CPU for 5,000 customers and 7 s for 40,000 (``bench/ltv_speed.py``).
        The customers are valued a block at a time (:func:`_intervals`), never all of
        them under all the draws at once: at 10M order lines (544,019 customers, 500
        draws) :func:`lifetime_value` peaks 0.7 GB above its inputs, against 4.7 GB with
        the whole (customers, draws) matrix; at 100M (5.4M customers, where the matrix
        would be 21 GB) the model with its intervals takes 1.8 GB, the intervals 0.9 GB
        and 260 s of CPU. The bounds are quantiles of the draws and
        move with the seed: on the bundled sample, by about 2-4% of the interval's width
        at 500 draws (5% at 200, 1-2% at 2,000; ``bench/ltv_mc_error.py``).
    interval : float
        Coverage of the intervals (0.9: the 5th and 95th percentiles of the
        values under the draws).
    seed : int
        Seed of the draws (the intervals are reproducible).

    Returns
    -------
    table : DataFrame
        One row per customer with a purchase (:data:`TABLE_COLUMNS`):
        ``customer_id``, ``frequency``, ``recency_weeks``, ``T_weeks``,
        ``monetary_value``, ``p_alive``, ``expected_purchases`` (over the
        horizon), ``expected_value`` (per purchase), ``ltv`` (discounted value
        over the horizon), ``ltv_low`` and ``ltv_high`` (the interval of ``ltv``
        under the parameter draws: the uncertainty of the estimated parameters, not the spread
        of what one customer will buy), ``historical_value`` (``monetary`` of
        the summary) and ``method`` (``bgnbd+gammagamma``, ``bgnbd+historical
        aov`` when Gamma-Gamma does not converge, or ``none``: the model columns
        are NaN).
    report : dict
        Parameters, penalties tried, convergence, the frequency-value
        correlation (Gamma-Gamma assumes none), customers, horizon, ``method``,
        ``total_ltv`` (and ``total_ltv_low`` / ``total_ltv_high``),
        ``intervals`` (``method`` ``parameter_draws``, ``draws``, how many were
        ``valued``, interval, seed; intervals are given when at least half were
        valued, none when an information matrix is not positive definite) and ``reason_key`` when there
        is no model: ``no_purchases``, ``few_repeat`` (with
        ``min_repeat_customers``), ``bgnbd_failed`` (no penalty converged) or
        ``bgnbd_a_one`` (expected purchases undefined). Keys and numbers only:
        :mod:`helpers.text.narrative.notes` says them in words.
    """
    table, report, _ = _model(summary, months=months, discount_monthly=discount_monthly,
                              penalizer=penalizer, min_repeat_customers=min_repeat_customers,
                              periods_per_month=periods_per_month, interval_draws=interval_draws,
                              interval=interval, seed=seed, regions=None)
    return table, report


# --------------------------------------------------------------------------- holdout check

#: Days per month, for the month settings of the history and the holdout.
DAYS_PER_MONTH = 365.25 / 12


def holdout_split(first_day: object, as_of: object, *, holdout_months: float | None = None
                  ) -> dict:
    """Where the history splits into a calibration part and a holdout part.

    Parameters
    ----------
    first_day : date-like
        The first purchase day of the history.
    as_of : date-like
        The day after the history (the summary's as-of day).
    holdout_months : float, optional
        Length of the holdout (rounded to whole days; at most the history).
        Default: the last third of the history.

    Returns
    -------
    dict
        ``first_day``, ``split`` (the first day of the holdout: the calibration
        part is the days before it), ``as_of`` (ISO dates), ``history_days``,
        ``calibration_days`` and ``holdout_days`` (they add up).
    """
    first, end = pd.Timestamp(first_day).normalize(), pd.Timestamp(as_of).normalize()
    history = max(int((end - first).days), 0)
    hold = (round(holdout_months * DAYS_PER_MONTH) if holdout_months is not None
            else round(history / 3))
    hold = min(max(int(hold), 0), history)
    split = end - pd.Timedelta(days=hold)
    return {"first_day": f"{first:%Y-%m-%d}", "split": f"{split:%Y-%m-%d}",
            "as_of": f"{end:%Y-%m-%d}", "history_days": history,
            "calibration_days": history - hold, "holdout_days": hold}


def _errors(predicted: np.ndarray, actual: np.ndarray) -> dict:
    return {"mae": float(np.abs(predicted - actual).mean()),
            "rmse": float(np.sqrt(((predicted - actual) ** 2).mean())),
            "predicted": float(predicted.sum())}


def holdout_data(days: pd.DataFrame, *, split: object, as_of: object) -> pd.DataFrame:
    """Each customer's calibration summary at ``split`` and purchases in the holdout.

    Parameters
    ----------
    days : DataFrame
        :func:`helpers.analysis.customers.purchase_days`: ``customer_id``, ``day``.
    split, as_of : date-like
        First day of the holdout and the day after it.

    Returns
    -------
    DataFrame
        One row per customer with a purchase day before ``split``: ``customer_id``,
        ``x`` (purchase days after the first, before ``split``), ``t_x`` (weeks
        from the first to the last of them), ``T`` (weeks from the first to
        ``split``) and ``actual`` (purchase days in ``[split, as_of)``). (The DuckDB
        twin, from the order lines: :func:`holdout_data_sql`.)
    """
    split, end = pd.Timestamp(split).normalize(), pd.Timestamp(as_of).normalize()
    day = pd.to_datetime(days["day"])
    before = days.loc[(day < split).to_numpy()]
    by = before.groupby("customer_id")["day"]
    first, last, count = by.min(), by.max(), by.size()
    after = days.loc[((day >= split) & (day < end)).to_numpy()]
    actual = after.groupby("customer_id").size().reindex(first.index, fill_value=0)
    return pd.DataFrame({"customer_id": first.index.to_numpy(),
                         "x": (count - 1).to_numpy(dtype=float),
                         "t_x": (last - first).dt.days.to_numpy(dtype=float) / 7,
                         "T": (split - first).dt.days.to_numpy(dtype=float) / 7,
                         "actual": actual.to_numpy(dtype=float)})


def holdout_data_sql(con, *, split: object, as_of: object) -> pd.DataFrame:
    """The DuckDB twin of :func:`holdout_data`: the same table from the order lines of the
    view ``lines`` of ``con`` (:func:`helpers.analysis.engine.open_lines`), their purchase
    days (:func:`helpers.analysis.engine.purchase_days_sql` on ``as_of``) summed per
    customer in DuckDB: one row per customer comes back, none per purchase day."""
    from helpers.analysis.engine import day, fetch, purchase_days_sql

    split, end = pd.Timestamp(split).normalize(), pd.Timestamp(as_of).normalize()
    per = fetch(con, f"""SELECT customer_id, min(day) FILTER (WHERE day < {day(split)}) AS first,
            max(day) FILTER (WHERE day < {day(split)}) AS last,
            count(*) FILTER (WHERE day < {day(split)}) AS n,
            count(*) FILTER (WHERE day >= {day(split)}) AS actual
        FROM ({purchase_days_sql(con, as_of=end)}) GROUP BY customer_id
        HAVING count(*) FILTER (WHERE day < {day(split)}) > 0 ORDER BY customer_id""")
    first = per["first"].astype("datetime64[ns]")
    last = per["last"].astype("datetime64[ns]")
    return pd.DataFrame({"customer_id": per["customer_id"].to_numpy(dtype=object),
                         "x": (per["n"] - 1).to_numpy(dtype=float),
                         "t_x": (last - first).dt.days.to_numpy(dtype=float) / 7,
                         "T": (split - first).dt.days.to_numpy(dtype=float) / 7,
                         "actual": per["actual"].to_numpy(dtype=float)})


def _holdout_data(days, *, split: object, as_of: object) -> pd.DataFrame:
    """:func:`holdout_data` of the purchase days ``days``, or :func:`holdout_data_sql` when
    ``days`` is a DuckDB connection with the order lines (the ``*_sql`` twins)."""
    if isinstance(days, pd.DataFrame):
        return holdout_data(days, split=split, as_of=as_of)
    return holdout_data_sql(days, split=split, as_of=as_of)


def holdout_check_sql(con, *, split: object, as_of: object, **options) -> dict:
    """The DuckDB twin of :func:`holdout_check` (``options`` as there): the calibration
    summaries and holdout purchases per customer from the order lines of the view
    ``lines`` of ``con`` (:func:`holdout_data_sql`)."""
    return holdout_check(con, split=split, as_of=as_of, **options)


def holdout_check(days: pd.DataFrame, *, split: object, as_of: object,
                  penalizer: float = 0.0, min_repeat_customers: int = 20,
                  tolerance: float = 0.25) -> dict:
    """Fit BG/NBD on the purchases before ``split``; predict each customer's purchases after it.

    The customers are those with a purchase before ``split``; their purchase days
    in ``[split, as_of)`` are the actual holdout purchases. Two naive rules predict
    the same: each customer's own rate (repeat purchases per week of age at the
    split, x / T) and the mean rate of all of them (sum x / sum T), both times the
    holdout's weeks.

    The check passes when the model's root mean squared error per customer is
    below the better naive rule's, and its total is within ``tolerance`` of the
    actual total (a model that ranks customers well but misses the level would
    misstate every region's total). The error compared is the squared one
    because the model predicts each customer's *expected* purchases: the mean
    absolute error is smallest for the median, which is 0 for most customers,
    and would reward a rule that predicts nobody buys again. Both are reported.

    Parameters
    ----------
    days : DataFrame
        :func:`helpers.analysis.customers.purchase_days`: ``customer_id``, ``day``
        (:func:`holdout_check_sql` passes its connection instead).
    split, as_of : date-like
        First day of the holdout and the day after it (:func:`holdout_split`).
    penalizer : float
        First L2 penalty of the fit (larger ones are tried as in :func:`customer_ltv`).
    min_repeat_customers : int
        Fewer customers with repeat purchases before ``split``: no fit.
    tolerance : float
        Largest relative error of the total predicted purchases.

    Returns
    -------
    dict
        ``customers``, ``repeat_customers`` (before the split), ``holdout_weeks``,
        ``fitted`` (False: no fit, ``bgnbd_attempts`` says why), and when fitted:
        ``bgnbd``, ``actual`` (holdout purchases), ``model``, ``own_rate``,
        ``mean_rate`` (each ``mae``, ``rmse``, ``predicted``), ``baseline`` (the
        better naive rule by RMSE), ``improvement`` (1 - model RMSE / baseline
        RMSE), ``total_error`` (predicted / actual - 1; None when nothing was
        bought), ``tolerance``, ``beats_baseline``, ``total_within_tolerance``
        and ``passed``.
    """
    split, end = pd.Timestamp(split).normalize(), pd.Timestamp(as_of).normalize()
    frame = _holdout_data(days, split=split, as_of=end)
    x, t_x, age, actual = (frame[c].to_numpy(dtype=float) for c in ("x", "t_x", "T", "actual"))
    weeks = (end - split).days / 7
    out: dict = {"customers": int(len(x)), "repeat_customers": int((x > 0).sum()),
                 "holdout_weeks": weeks, "fitted": False}
    if out["repeat_customers"] < max(min_repeat_customers, 1) or weeks <= 0:
        return out
    bg, out["bgnbd_attempts"] = _fit_with_retries(BetaGeo, (x, t_x, age), penalizer)
    if bg is None or abs(bg.params_["a"] - 1) < 1e-6:
        return out
    with np.errstate(invalid="ignore", over="ignore"):
        predicted = bg.expected_purchases(weeks, x, t_x, age)
    if not np.all(np.isfinite(predicted)):
        return out
    model = _errors(predicted, actual)
    own = _errors(x / age * weeks, actual)
    mean = _errors(np.full(len(x), x.sum() / age.sum() * weeks), actual)
    baseline = "own_rate" if own["rmse"] <= mean["rmse"] else "mean_rate"
    best = own if baseline == "own_rate" else mean
    total = float(actual.sum())
    total_error = model["predicted"] / total - 1 if total > 0 else None
    out.update(fitted=True, bgnbd=bg.params_, actual=total, model=model, own_rate=own,
               mean_rate=mean, baseline=baseline,
               improvement=1 - model["rmse"] / best["rmse"] if best["rmse"] > 0 else 0.0,
               total_error=total_error, tolerance=tolerance,
               beats_baseline=bool(model["rmse"] < best["rmse"]),
               total_within_tolerance=bool(total_error is not None
                                           and abs(total_error) <= tolerance))
    out["passed"] = bool(out["beats_baseline"] and out["total_within_tolerance"])
    return out


def lifetime_value_sql(con, summary: pd.DataFrame, *, as_of: object, **options
                       ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The DuckDB twin of :func:`lifetime_value` (``options`` as there): ``summary`` is
    :func:`helpers.analysis.customers.purchase_summary` on ``as_of`` of the order lines of
    the view ``lines`` of ``con`` (:func:`helpers.analysis.engine.open_lines`); the holdout
    check's calibration summaries and holdout purchases are summed per customer from those
    lines in DuckDB (:func:`holdout_data_sql`), so no purchase day reaches pandas."""
    return lifetime_value(summary, con, as_of=as_of, **options)


def lifetime_value(summary: pd.DataFrame, days: pd.DataFrame, *, as_of: object,
                   regions: pd.Series | None = None, months: int = 12,
                   discount_monthly: float = 0.01, penalizer: float = 0.0,
                   min_repeat_customers: int = 20, min_repeat_share: float = 0.05,
                   holdout_months: float | None = None, min_calibration_months: float = 6,
                   min_holdout_months: float = 3, tolerance: float = 0.25,
                   interval_draws: int = 200, interval: float = 0.9, seed: int = 0,
                   periods_per_month: float = WEEKS_PER_MONTH
                   ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Lifetime value where the data can carry it, with intervals; otherwise why not.

    The gate, in order (the first that fails is the note's ``reason_key``, and
    the table's model columns are NaN):

    1. ``no_purchases``: no customer bought before ``as_of``.
    2. ``short_history``: the history (first purchase day to ``as_of``) split
       by :func:`holdout_split` leaves less than ``min_calibration_months`` to
       fit or ``min_holdout_months`` to test.
    3. ``few_repeat`` / ``rare_repeat``: fewer than ``min_repeat_customers``
       customers, or less than ``min_repeat_share`` of them, bought on more than
       one day (with one purchase each, nothing shows how often or how long
       customers buy).
    4. ``holdout_not_fitted``, ``holdout_worse``, ``holdout_off``: the holdout
       check (:func:`holdout_check`) could not fit the first part, the model did
       not predict the holdout better than the naive rule, or its total missed
       by more than ``tolerance``.
    5. ``bgnbd_failed`` / ``bgnbd_a_one``: the fit on the whole history failed.

    Parameters
    ----------
    summary : DataFrame
        :func:`helpers.analysis.customers.purchase_summary` on ``as_of``.
    days : DataFrame
        :func:`helpers.analysis.customers.purchase_days` on ``as_of`` (the holdout
        check's data, :func:`holdout_data`); :func:`lifetime_value_sql` passes its
        connection instead.
    as_of : date-like
        The day the prediction starts (the day after the period).
    regions : Series, optional
        Region of each customer (index ``customer_id``): the per-region table.
    months, discount_monthly, penalizer, periods_per_month, interval_draws, interval, seed
        As in :func:`customer_ltv`.
    min_repeat_customers : int
        Fewest customers with repeat purchases.
    min_repeat_share : float
        Smallest share of customers with repeat purchases.
    holdout_months : float, optional
        Length of the holdout; default the last third of the history.
    min_calibration_months, min_holdout_months : float
        Shortest calibration and holdout parts.
    tolerance : float
        Largest relative error of the holdout's total predicted purchases.

    Returns
    -------
    table : DataFrame
        :data:`TABLE_COLUMNS`, one row per customer with a purchase.
    by_region : DataFrame
        :data:`REGION_COLUMNS`: customers, repeat customers, value and the
        interval of each region's total (empty when not shown or without
        ``regions``).
    note : dict
        :func:`customer_ltv`'s report with ``shown``, ``gate`` (the settings),
        ``history`` (:func:`holdout_split`), ``holdout`` (:func:`holdout_check`),
        ``repeat_share`` and ``reason_key`` when not shown. Keys and numbers only.
    """
    customers = int(len(summary))
    repeat = int((summary["repeat_purchases"] > 0).sum()) if customers else 0
    gate = {"min_repeat_customers": int(min_repeat_customers),
            "min_repeat_share": float(min_repeat_share),
            "min_calibration_months": min_calibration_months,
            "min_holdout_months": min_holdout_months, "tolerance": tolerance}
    note: dict = {"customers": customers, "repeat_customers": repeat,
                  "repeat_share": repeat / customers if customers else 0.0,
                  "months": months, "discount_monthly": discount_monthly,
                  "time_unit": "weeks", "method": "none", "shown": False, "gate": gate}
    not_shown = (_not_shown(summary), pd.DataFrame(columns=REGION_COLUMNS))

    def refuse(key: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
        note["reason_key"] = key
        return (*not_shown, note)

    on_lines = not isinstance(days, pd.DataFrame)  # lifetime_value_sql: a connection
    if customers == 0 or (not on_lines and days.empty):
        return refuse("no_purchases")
    # the first purchase day (on the lines: the summary's, the first of their purchase days)
    first_day = (summary["first_purchase"].min() if on_lines
                 else pd.to_datetime(days["day"]).min())
    history = holdout_split(first_day, as_of,
                            holdout_months=holdout_months)
    note["history"] = history
    if (history["calibration_days"] < min_calibration_months * DAYS_PER_MONTH
            or history["holdout_days"] < min_holdout_months * DAYS_PER_MONTH):
        return refuse("short_history")
    # The check runs (and its numbers are noted) even when too few customers repeat.
    check = holdout_check(days, split=history["split"], as_of=history["as_of"],
                          penalizer=penalizer, min_repeat_customers=min_repeat_customers,
                          tolerance=tolerance)
    note["holdout"] = check
    if repeat < min_repeat_customers:
        return refuse("few_repeat")
    if note["repeat_share"] < min_repeat_share:
        return refuse("rare_repeat")
    if not check["fitted"]:
        return refuse("holdout_not_fitted")
    if not check["beats_baseline"]:
        return refuse("holdout_worse")
    if not check["total_within_tolerance"]:
        return refuse("holdout_off")
    table, report, by_region = _model(
        summary, months=months, discount_monthly=discount_monthly, penalizer=penalizer,
        min_repeat_customers=min_repeat_customers, periods_per_month=periods_per_month,
        interval_draws=interval_draws, interval=interval, seed=seed, regions=regions)
    note.update({k: v for k, v in report.items() if k not in note or k == "method"})
    if "reason_key" in report:
        return refuse(report["reason_key"])
    note["shown"] = True
    return table, by_region, note

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

import numpy as np
import pandas as pd
from scipy import optimize, special

__all__ = ["BetaGeo", "GammaGamma", "customer_ltv", "WEEKS_PER_MONTH"]

WEEKS_PER_MONTH = 365.25 / 12 / 7
#: Penalties tried in turn after the configured one.
PENALIZERS = (0.001, 0.01, 0.1)


# --------------------------------------------------------------------------- models


def _compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of the given columns and their counts (likelihood weights)."""
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float)


def _minimize(nll, x0: np.ndarray) -> optimize.OptimizeResult:
    """L-BFGS-B on log parameters; Nelder-Mead from there when it does not converge."""
    first = optimize.minimize(nll, x0, method="L-BFGS-B", options={"ftol": 1e-12, "gtol": 1e-8})
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

    def fit(self, frequency, recency, T) -> BetaGeo:
        """Maximum likelihood fit on customers' (x, t_x, T); returns ``self``."""
        x, t_x, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        if len(x) == 0:
            raise ValueError("no customers to fit")
        if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > age + 1e-9):
            raise ValueError("need frequency >= 0 and 0 <= recency <= T")
        scale = 10.0 / max(float(age.max()), 1e-9)  # conditioning, undone below
        (ux, ut, uT), weight = _compress(x, t_x * scale, age * scale)
        total = weight.sum()

        def nll(log_params):
            params = np.exp(log_params)
            ll = self.log_likelihood(params, ux, ut, uT)
            value = -(weight * ll).sum() / total + self.penalizer * np.sum(params**2)
            return value if np.isfinite(value) else 1e12

        result = _minimize(nll, np.zeros(4))
        r, alpha, a, b = np.exp(result.x)
        self.params_ = {"r": float(r), "alpha": float(alpha / scale), "a": float(a),
                        "b": float(b)}
        values = np.array(list(self.params_.values()))
        self.converged_ = bool(result.success and np.all(np.isfinite(values))
                               and np.all((values > 1e-6) & (values < 1e6)))
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

    def fit(self, frequency, monetary_value) -> GammaGamma:
        """Maximum likelihood fit; returns ``self``."""
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        keep = (x > 0) & (m > 0)
        if keep.sum() < 2:
            raise ValueError("Gamma-Gamma needs at least 2 customers with repeat purchases")
        x, m = x[keep], m[keep]
        scale = 1.0 / float(np.median(m))  # conditioning: v is in money units
        (ux, um), weight = _compress(x, m * scale)
        total = weight.sum()

        def nll(log_params):
            params = np.exp(log_params)
            ll = self.log_likelihood(params, ux, um)
            value = -(weight * ll).sum() / total + self.penalizer * np.sum(params**2)
            return value if np.isfinite(value) else 1e12

        result = _minimize(nll, np.zeros(3))
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


def customer_ltv(summary: pd.DataFrame, *, months: int = 12,
                 discount_monthly: float = 0.01, penalizer: float = 0.0,
                 min_repeat_customers: int = 20,
                 periods_per_month: float = WEEKS_PER_MONTH) -> tuple[pd.DataFrame, dict]:
    """Probability alive, expected purchases and value over ``months`` per customer.

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
        Fewer customers with repeat purchases than this: no model, the
        historical value is used (too little data to estimate dropout).
    periods_per_month : float
        Weeks per month for the monthly steps.

    Returns
    -------
    table : DataFrame
        One row per customer with a purchase: ``customer_id``, ``frequency``,
        ``recency_weeks``, ``T_weeks``, ``monetary_value``, ``p_alive``,
        ``expected_purchases`` (over the horizon), ``expected_value``
        (per purchase), ``ltv`` (discounted value over the horizon),
        ``historical_value`` (the net value bought so far, ``monetary`` of the
        summary; the historical fallbacks take it as 0 when returns exceed it)
        and ``method`` (``bgnbd+gammagamma``, ``bgnbd+historical aov`` or
        ``historical``).
    report : dict
        Parameters, penalties tried, convergence, the frequency-value
        correlation (Gamma-Gamma assumes none), customers, horizon, ``method``
        (as in the table) and ``fallback_key`` when the historical value was
        used: ``no_purchases``, ``few_repeat`` (with ``min_repeat_customers``),
        ``bgnbd_failed`` (no penalty converged) or ``bgnbd_a_one`` (expected
        purchases undefined). Keys and numbers only:
        :mod:`helpers.text.narrative.notes` says them in words.
    """
    report: dict = {"customers": int(len(summary)), "months": months,
                    "discount_monthly": discount_monthly, "time_unit": "weeks",
                    "repeat_customers": int((summary["repeat_purchases"] > 0).sum())}
    columns = ["customer_id", "frequency", "recency_weeks", "T_weeks", "monetary_value",
               "p_alive", "expected_purchases", "expected_value", "ltv",
               "historical_value", "method"]
    if summary.empty:
        report["fallback_key"] = "no_purchases"
        return pd.DataFrame(columns=columns), report
    x = summary["repeat_purchases"].to_numpy(dtype=float)
    t_x = summary["span_weeks"].to_numpy(dtype=float)
    age = summary["tenure_weeks"].to_numpy(dtype=float)
    m = summary["repeat_value"].to_numpy(dtype=float)
    steps = np.arange(1, months + 1) * periods_per_month
    discount = (1 + discount_monthly) ** -np.arange(1, months + 1)

    bg = gg = None
    if report["repeat_customers"] < min_repeat_customers:
        report.update(fallback_key="few_repeat", min_repeat_customers=int(min_repeat_customers))
    else:
        bg, report["bgnbd_attempts"] = _fit_with_retries(BetaGeo, (x, t_x, age), penalizer)
        if bg is None:
            report["fallback_key"] = "bgnbd_failed"
        elif abs(bg.params_["a"] - 1) < 1e-6:
            report["fallback_key"] = "bgnbd_a_one"
            bg = None
    if bg is not None:
        report["bgnbd"] = bg.params_
        gg, report["gammagamma_attempts"] = _fit_with_retries(GammaGamma, (x, m), penalizer)
        repeat = (x > 0) & (m > 0)
        report["frequency_value_correlation"] = (
            float(np.corrcoef(x[repeat], m[repeat])[0, 1]) if repeat.sum() > 2 else None)
        if gg is not None:
            report["gammagamma"] = gg.params_

    historical = summary["monetary"].to_numpy(dtype=float)
    bought = np.maximum(historical, 0.0)  # returns beyond purchases: worth nothing, not less
    if bg is None:
        # Historical run rate: value per month of tenure (at least one month) x horizon.
        tenure_months = np.maximum(age / periods_per_month, 1.0)
        rate = bought / tenure_months
        ltv = rate * discount.sum()
        p_alive = np.full(len(x), np.nan)
        purchases = (x + 1) / tenure_months * months
        value = bought / (x + 1)
        method = "historical"
    else:
        cumulative = np.column_stack([bg.expected_purchases(s, x, t_x, age) for s in steps])
        per_month = np.diff(np.column_stack([np.zeros(len(x)), cumulative]), axis=1)
        purchases = cumulative[:, -1]
        p_alive = bg.probability_alive(x, t_x, age)
        if gg is not None:
            value = gg.expected_value(x, m)
            method = "bgnbd+gammagamma"
        else:
            value = bought / (x + 1)
            method = "bgnbd+historical aov"
        ltv = (per_month * discount).sum(axis=1) * value
    table = pd.DataFrame({
        "customer_id": summary["customer_id"].to_numpy(),
        "frequency": summary["repeat_purchases"].to_numpy(),
        "recency_weeks": t_x, "T_weeks": age, "monetary_value": m,
        "p_alive": p_alive, "expected_purchases": purchases, "expected_value": value,
        "ltv": ltv, "historical_value": historical, "method": method,
    })
    report["method"] = method
    report["total_ltv"] = float(np.nansum(ltv))
    return table[columns], report

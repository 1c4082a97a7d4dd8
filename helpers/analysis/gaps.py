"""Where customers are missing: expected customers from population and GDP, and the gaps.

A region's expected customers are what it would have if it were like the other
regions of the market, given its population and GDP (:func:`expected_customers`:
a Poisson regression, or a plain allocation when there are too few regions).
:func:`reference_columns` adds penetration and the gap to region KPI rows;
:func:`market_gaps` ranks the blank and under-penetrated regions. In a territory
report the model is the whole market's (:class:`helpers.analysis.benchmark.Benchmark`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import poisson

from helpers.analysis.benchmark import Benchmark
from helpers.analysis.ratios import safe_ratio

__all__ = ["GAP_COLUMNS", "REFERENCE_COLUMNS", "MODEL_MIN_REGIONS", "MODEL_MIN_CUSTOMERS",
           "expected_customers", "reference_columns", "gap_model", "market_gaps"]

#: Columns of the expected-customers model: in a territory report they are the whole
#: market's (a fit on every province, not on the territory's few).
GAP_COLUMNS = ("expected_customers", "expected_method", "gap_ratio", "customer_gap", "gap_p")
#: Columns :func:`reference_columns` adds, in order.
REFERENCE_COLUMNS = ["population_10k", "gdp_100m_cny", "customers_per_million",
                     "revenue_per_capita", "revenue_per_100m_gdp", *GAP_COLUMNS]


def _expected_by_allocation(customers: pd.Series, population: pd.Series,
                            gdp: pd.Series | None) -> pd.Series:
    """Allocate the total customer count by a population-and-GDP weight.

    Weight of a region = ``sqrt(population * gdp)`` (the geometric mean of the
    two, so a region with half the people and twice the output weighs the
    same); the population alone when ``gdp`` is None. ``expected = total customers * weight / sum of weights`` over the
    regions that have both reference values; the others get NaN.
    """
    weight = (np.sqrt(population.astype(float) * gdp.astype(float)) if gdp is not None
              else population.astype(float))
    usable = weight.notna() & (weight > 0)
    total = customers[usable].sum()
    share = weight.where(usable) / weight[usable].sum()
    return (share * total).astype(float)


#: The Poisson model needs at least this many regions with reference values ...
MODEL_MIN_REGIONS = 8
#: ... and at least this many customers among them; otherwise the allocation is used.
MODEL_MIN_CUSTOMERS = 30


#: Newton steps the Poisson fit may take.
_MAX_ITER = 100


def _poisson_glm(x: np.ndarray, y: np.ndarray, *, max_iter: int = _MAX_ITER,
                 tol: float = 1e-10) -> tuple[np.ndarray | None, float, str]:
    """Maximum likelihood Poisson regression with log link (Newton / IRLS).

    Returns the coefficients, the share of deviance explained (D²) and an empty
    reason; or ``None`` and the reason key (``singular``, ``diverged``,
    ``not_converged``) when it does not converge.
    """
    beta = np.zeros(x.shape[1])
    beta[0] = np.log(max(y.mean(), 1e-9))
    for _ in range(max_iter):
        mu = np.exp(x @ beta)
        gradient = x.T @ (y - mu)
        hessian = x.T @ (x * mu[:, None])
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            return None, np.nan, "singular"
        # Step halving: never accept a step that lowers the log-likelihood.
        loglik = np.sum(y * (x @ beta) - mu)
        for _ in range(40):
            trial = beta + step
            eta = x @ trial
            if np.all(np.isfinite(eta)) and np.sum(y * eta - np.exp(eta)) >= loglik - 1e-12:
                break
            step = step / 2
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            return None, np.nan, "diverged"
        if np.max(np.abs(step)) < tol:
            mu = np.exp(x @ beta)
            with np.errstate(divide="ignore", invalid="ignore"):
                term = np.where(y > 0, y * np.log(y / mu), 0.0)
                null_term = np.where(y > 0, y * np.log(y / y.mean()), 0.0)
            deviance = 2 * np.sum(term - (y - mu))
            null = 2 * np.sum(null_term)
            return beta, float(1 - deviance / null) if null > 0 else np.nan, ""
    return None, np.nan, "not_converged"


def expected_customers(customers: pd.Series, population: pd.Series, gdp: pd.Series,
                       *, method: str = "auto") -> tuple[pd.Series, dict]:
    """Customers a region would have if it were like the others, from population and GDP.

    Two methods:

    - ``"poisson"``: a log-linear Poisson regression (generalised linear
      model with log link, maximum likelihood by Newton's method / IRLS, no
      penalty) of the customer count on
      ``log(population)`` and ``log(GDP)`` over the regions with both
      reference values, blank regions included. The fitted mean is the
      expected count. With an intercept the fitted counts add up to the
      actual total (the likelihood equations), so the model only moves
      customers between regions. It assumes regions differ only by
      population, GDP and Poisson noise; everything else (history, channel
      reach) shows up as a gap.
    - ``"allocation"``: the total shared by ``sqrt(population * GDP)``
      (the fallback when there are fewer than :data:`MODEL_MIN_REGIONS`
      regions or :data:`MODEL_MIN_CUSTOMERS` customers, or the fit fails).

    When no region has a GDP value (the bundled references of US and Brazilian
    states hold population only), both methods use the population alone
    (``log(population)`` in the regression, population shares in the
    allocation) and ``info`` says so with ``inputs_key`` ``"population_only"``.

    Parameters
    ----------
    customers, population, gdp : Series
        Aligned per region; population and GDP in any fixed units.
    method : {"auto", "poisson", "allocation"}
        ``"auto"``: the model when there are enough regions and customers.

    Returns
    -------
    expected : Series
        Expected customers (NaN where a reference value is missing).
    info : dict
        ``method`` used, ``regions`` and ``customers`` the fit saw, and for
        the model the coefficients (``intercept``, ``log_population``,
        ``log_gdp`` unless population only), ``deviance_explained`` (D², like R² for counts) and
        ``reason_key`` when it fell back: ``few_regions``, ``few_customers``,
        ``singular``, ``diverged``, ``not_converged`` (with ``max_iter``) or
        ``non_finite``; ``inputs_key`` ``population_only`` when there is no GDP
        (:mod:`helpers.text.narrative.notes` says them in words).
    """
    if method not in ("auto", "poisson", "allocation"):
        raise ValueError(f"method must be auto, poisson or allocation, got {method!r}")
    pop = population.astype(float)
    out = gdp.astype(float)
    y = customers.astype(float)
    # No GDP for any region (US and Brazilian states, countries): population alone.
    population_only = not out.notna().any()
    usable = pop.notna() & (pop > 0)
    if not population_only:
        usable &= out.notna() & (out > 0)
    info: dict = {"regions": int(usable.sum()), "customers": int(y[usable].sum())}
    if population_only:
        info["inputs_key"] = "population_only"
    reason = ""
    if method == "auto":
        if info["regions"] < MODEL_MIN_REGIONS:
            reason = "few_regions"
        elif info["customers"] < MODEL_MIN_CUSTOMERS:
            reason = "few_customers"
        method = "allocation" if reason else "poisson"
    if method == "poisson":
        columns = [np.ones(int(usable.sum())), np.log(pop[usable])]
        if not population_only:
            columns.append(np.log(out[usable]))
        features = np.column_stack(columns)
        beta, deviance_explained, reason = _poisson_glm(features, y[usable].to_numpy())
        if beta is not None:
            expected = pd.Series(np.nan, index=customers.index, dtype=float)
            expected[usable] = np.exp(features @ beta)
            info.update(method="poisson", intercept=float(beta[0]),
                        log_population=float(beta[1]))
            if not population_only:
                info["log_gdp"] = float(beta[2])
            info["deviance_explained"] = deviance_explained
            return expected, info
        if reason == "not_converged":
            info["max_iter"] = _MAX_ITER
        reason = reason or "non_finite"
    info.update(method="allocation")
    if reason:
        info["reason_key"] = reason
    return _expected_by_allocation(customers, population,
                                   None if population_only else gdp), info


def reference_columns(table: pd.DataFrame, reference: pd.DataFrame, *,
                      method: str = "auto", benchmark: Benchmark | None = None) -> pd.DataFrame:
    """Penetration and the customer gap of province KPI rows, from population and GDP.

    Parameters
    ----------
    table : DataFrame
        Province KPI rows: ``region`` (official province name), ``customers``,
        ``revenue``.
    reference : DataFrame
        ``region`` (or ``province``), ``population_10k``, ``gdp_100m_cny`` (may be
        empty: the model then uses population only)
        (:func:`helpers.geo.reference.load_region_reference`).
    method : {"auto", "poisson", "allocation"}
        See :func:`expected_customers`.
    benchmark : Benchmark, optional
        The whole market: the gap columns (:data:`GAP_COLUMNS`) are its model's;
        without it the model is fitted on ``table``'s rows.

    Returns
    -------
    DataFrame
        ``table`` with :data:`REFERENCE_COLUMNS`: ``population_10k``,
        ``gdp_100m_cny``, ``customers_per_million``, ``revenue_per_capita``
        (project currency per resident: market intensity), ``revenue_per_100m_gdp``
        (revenue in the project currency per 100 million CNY of GDP), ``expected_customers``,
        ``expected_method``, ``gap_ratio`` (``customers / expected``),
        ``customer_gap`` (``expected - customers``) and ``gap_p`` (Poisson
        probability of so few customers or fewer if the region were like the
        others: small is a real gap).
    """
    key = "region" if "region" in reference.columns else "province"
    ref = reference[[key, "population_10k", "gdp_100m_cny"]].rename(columns={key: "region"})
    table = table.merge(ref, on="region", how="left")
    table = table.assign(
        customers_per_million=safe_ratio(table["customers"], table["population_10k"] / 100),
        revenue_per_capita=safe_ratio(table["revenue"], table["population_10k"] * 1e4),
        revenue_per_100m_gdp=safe_ratio(table["revenue"], table["gdp_100m_cny"]),
    )
    if benchmark is not None:
        return pd.concat([table, benchmark.columns(table["region"], GAP_COLUMNS)], axis=1)
    expected, info = expected_customers(table["customers"], table["population_10k"],
                                        table["gdp_100m_cny"], method=method)
    gap_p = pd.Series(poisson.cdf(table["customers"], expected.fillna(0)),
                      index=table.index).where(expected.notna())
    return table.assign(
        expected_customers=expected,
        expected_method=info["method"],
        gap_ratio=safe_ratio(table["customers"], expected),
        customer_gap=expected - table["customers"],
        gap_p=gap_p,
    )


def gap_model(kpis: pd.DataFrame, *, method: str = "auto",
              benchmark: Benchmark | None = None) -> dict:
    """How the expected customers of ``kpis`` were modelled (for the notes of step 4).

    Parameters
    ----------
    kpis : DataFrame
        Province KPI rows with :data:`REFERENCE_COLUMNS`.
    method : {"auto", "poisson", "allocation"}
    benchmark : Benchmark, optional
        The whole market, whose model the rows carry.

    Returns
    -------
    dict
        The ``info`` of :func:`expected_customers` on the rows the model was
        fitted on, with ``scope_key`` ``"market"`` when that was the whole market.
    """
    base = kpis if benchmark is None else benchmark.kpis
    _, info = expected_customers(base["customers"], base["population_10k"],
                                 base["gdp_100m_cny"], method=method)
    if benchmark is not None:
        info["scope_key"] = "market"
    return info


def market_gaps(kpis: pd.DataFrame, *, max_ratio: float = 1.0,
                tiers: pd.Series | None = None) -> pd.DataFrame:
    """Blank and under-penetrated regions, ranked by the size of the gap.

    A region can be below its expected customer count and still be large: core by
    revenue, a hot spot, growing. With ``tiers`` such a region is listed as ``room to
    grow`` (its tier beside it), not as a gap: both statements hold (large now, with
    customers still to win), and the gap table no longer contradicts the tiers.

    Parameters
    ----------
    kpis : DataFrame
        :func:`helpers.analysis.kpis.region_kpis` output with a reference
        (``expected_customers``, ``gap_ratio``, ``customer_gap``, ``gap_p``).
    max_ratio : float
        Regions with ``gap_ratio`` below this are listed (blank regions have 0).
    tiers : Series, optional
        Region -> tier (:func:`helpers.analysis.tiers.region_tiers`).

    Returns
    -------
    DataFrame
        The listed rows of ``kpis`` sorted by ``customer_gap`` (missing
        customers) descending, with ``gap_rank`` (1 = largest gap),
        ``gap_kind`` (``blank``: no customers; ``under-penetrated``: fewer
        than expected; ``room to grow``: fewer than expected in a region whose
        tier is not gap) and, with ``tiers``, ``tier``. Empty when ``kpis`` has
        no gap columns.
    """
    if "customer_gap" not in kpis.columns:
        return kpis.iloc[0:0].assign(gap_rank=pd.Series(dtype="int64"),
                                     gap_kind=pd.Series(dtype=object))
    rows = kpis.loc[kpis["gap_ratio"].lt(max_ratio) & kpis["customer_gap"].gt(0)]
    rows = rows.sort_values(["customer_gap", "region"], ascending=[False, True],
                            kind="mergesort").reset_index(drop=True)
    kind = np.where(rows["customers"].eq(0), "blank", "under-penetrated").astype(object)
    if tiers is not None:
        tier = rows["region"].map(tiers)
        kind = np.where(rows["customers"].gt(0) & tier.notna() & tier.ne("gap"),
                        "room to grow", kind).astype(object)
        rows = rows.assign(tier=tier)
    return rows.assign(gap_rank=np.arange(1, len(rows) + 1, dtype="int64"), gap_kind=kind)

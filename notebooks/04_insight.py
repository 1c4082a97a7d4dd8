# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Step 4 · Insight: which regions and customers matter, and why?
#
# Region KPIs put numbers on size, growth and penetration; concentration measures how
# dependent the business is on a few regions and customers; RFM segments sort customers
# by how recently, how often and how much they buy. The tables are saved for step 5.

# %% tags=["parameters"]
region: str = "ALL"  # ALL, a territory (华东 / East China) or a province in any spelling (广东, Guangdong)
run_dir: str = ""  # reports/<run_id>; empty: reports/interactive
config: str = "workbook.yaml"  # the workbook config (relative to the project root)
period_end: str = ""  # last day of the analysis period, e.g. 2025-12-31; empty: last order date
lang: str = "en"  # en | zh: language of charts and generated text
mask_pii: bool = True  # mask names, phones, e-mails and addresses in this report
objective: str = "find_new_markets"  # find_new_markets | reallocate_resources | compare_regions | keep_valuable_customers | tier_partners
baseline_run: str = ""  # an earlier run to compare with (run id under reports/, or its folder); empty: none

# %%
from helpers import steps

ctx = steps.open_step(region=region, run_dir=run_dir, config=config, period_end=period_end,
                      lang=lang, mask_pii=mask_pii)
ctx.heading()

# %%
import pandas as pd

from helpers import insights

tables = insights.insight_tables(ctx)
insights.save_insight(ctx, tables)
kpis = tables["region_kpis"]

# %% [markdown]
# ## Region KPIs
#
# Revenue and growth compare the period with the baseline of equal length before it.
# `gap_ratio` compares the customers a province has with the number its population and
# GDP predict (below 1: under-served). Regions flagged `small_sample` have too few
# customers for their rates to be trusted.

# %%
columns = [c for c in ["region", "region_en", "customers", "active_customers", "new_customers",
                       "revenue", "growth_yoy", "share", "aov", "customers_per_million",
                       "expected_customers", "gap_ratio", "small_sample"] if c in kpis]
kpis[columns].round(3)

# %% [markdown]
# ## Concentration

# %%
c = tables["concentration"]
print(c["statement_regions"])
print(c["statement_customers"])
pd.DataFrame({"regions": c["regions"], "customers": c["customers"]}).round(3)

# %% [markdown]
# A Gini near 1 or an HHI above 0.25 means a few regions (or customers) carry the
# business: losing one hurts, and growth must come from widening the base.
#
# ## Blank and under-served regions
#
# Regions with no customers, and regions with far fewer customers than their population
# and economy predict, ranked by the size of the gap.

# %%
gaps = kpis[(kpis["customers"] == 0) | (kpis.get("gap_ratio", pd.Series(dtype=float)) < 1)]
gap_columns = [c for c in ["region", "region_en", "customers", "expected_customers", "gap_ratio",
                           "population_10k", "gdp_100m_cny"] if c in gaps]
gaps.assign(missing=gaps.get("expected_customers", 0) - gaps["customers"]).sort_values(
    "missing", ascending=False)[gap_columns].head(10).round(2)

# %% [markdown]
# ## Customer segments (RFM)
#
# Scores 1 to 5 for recency, frequency and monetary value (5 is best), computed as of the
# end of the period. Champions and loyal customers are to be cared for; customers at risk
# or that we cannot lose need a call this quarter.

# %%
tables["segment_summary"].round(3)

# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Step 3 · Visualization: where are the customers and the money?
#
# Bars and shares show which regions carry the business; the Pareto chart shows how
# concentrated it is; the trend shows where it is moving; the maps show it on the ground.

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
import matplotlib.pyplot as plt

from helpers import charts, kpi, maps

kpis = steps.region_kpis(ctx)
with_customers = kpis[kpis["customers"] > 0]

# %% [markdown]
# ## Revenue and customers by region
#
# The longest bars are where the business is today. Regions outside the top group are
# pooled as "Others" so small regions do not crowd the chart.

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
charts.plot_region_bars(with_customers, value="revenue", top=12, lang=lang, ax=axes[0])
charts.plot_region_bars(with_customers, value="customers", top=12, lang=lang, ax=axes[1])
fig.tight_layout()

# %% [markdown]
# ## How concentrated is revenue?
#
# Bars show each region's share of revenue; the line adds them up. Where the line crosses
# 80% tells how many regions carry four fifths of the business.

# %%
charts.plot_share(with_customers, value="revenue", lang=lang);

# %% [markdown]
# ## Customers against revenue
#
# Regions above the trend earn more per customer than the rest; regions below have many
# small customers, a case for up-selling.

# %%
charts.plot_customers_vs_revenue(with_customers, lang=lang);

# %% [markdown]
# ## Monthly revenue trend
#
# The largest regions month by month (net of returns). Watch for regions whose line bends
# down while the market grows.

# %%
level = ctx.scope.sublevel
orders_with_region = ctx.orders.merge(ctx.customers[["customer_id", "city"]], on="customer_id", how="left")
monthly = kpi.monthly_revenue(orders_with_region, by=level)
charts.plot_trend(monthly, value="revenue", hue=level, top=6, lang=lang);

# %% [markdown]
# ## Map: regions sized by revenue
#
# Each circle is a region, its area in proportion to revenue in the period. Grey rings
# mark regions with **no customers at all**: the blank spots on the map.

# %%
maps.region_bubble_map(kpis, value="revenue", lang=lang)

# %% [markdown]
# ## Map: every customer
#
# Customers cluster into numbered bubbles when zoomed out; the heat layer shows density.
# Toggle the layers at the top right. Names are not shown in shared reports.

# %%
maps.customer_map(ctx.customers, lang=lang, mask_pii=mask_pii)

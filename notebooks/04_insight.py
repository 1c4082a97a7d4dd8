# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Step 4 · Insight: where is the business concentrated, where is it missing, and who matters?
#
# This report reads the customer and order data of the region for the analysis period and
# answers: which regions carry the business and how fast they grow; where
# customers cluster (hot spots) and where they are missing for the size of the market
# (gaps); which customers stand alone; how concentrated revenue is; which customers are
# valuable, slipping or gone; what they are worth over the next year; and which channel
# partners are A, B or C. Every result states how it was computed and on how many
# customers; regions with too few customers are flagged rather than ranked.
# The tables are saved for step 5 (strategy).

# %% tags=["parameters"]
region: str = "ALL"  # ALL, a territory (华东 / East China), a province in any spelling (广东, Guangdong) or a city (深圳, 广东:深圳)
run_dir: str = ""  # reports/<run_id>; empty: reports/interactive
config: str = "workbook.yaml"  # the workbook config (relative to the project root)
period_end: str = ""  # last day of the analysis period, e.g. 2025-12-31; empty: last order date
lang: str = "en"  # en | zh: language of charts and generated text
mask_pii: bool = True  # mask names, phones, e-mails and addresses in this report
objective: str = "find_new_markets"  # find_new_markets | reallocate_resources | compare_regions | keep_valuable_customers | tier_partners
baseline_run: str = ""  # an earlier run to compare with (run id under reports/, or its folder); empty: none

# %%
from helpers import context

ctx = context.open_step(region=region, run_dir=run_dir, config=config, period_end=period_end,
                        lang=lang, mask_pii=mask_pii, objective=objective)
ctx.heading()

# %%
from IPython.display import Markdown

from helpers.steps import goals, insight

tables = insight.insight_tables(ctx)
insight.save_insight(ctx, tables)
Markdown(goals.first_note(goals.load_brief(ctx), "04"))

# %% [markdown] tags=["section-region_kpis"]
# ## Region KPIs
#
# Revenue and growth compare the period with the same months a year before (*YoY growth*);
# *recent growth (3 months)* compares the last three months with the three before them
# (recent momentum, seasonality included). Revenue per customer and orders per customer are
# per *active* customer. ROI is revenue per unit of currency spent on marketing in the period
# (quarters pro rata). *Customers per rep* shows the load of the sales team. Regions marked
# under *few customers* have too few customers for their rates and growth to be trusted.

# %%
insight.section(ctx, tables, "region_kpis")

# %% [markdown] tags=["section-hotspots"]
# ## Hot and cold spots
#
# Getis-Ord Gi* compares each region *together with its neighbours* with the whole map: a
# hot spot is a neighbourhood of strong regions, not just one big region. The bins are
# ±3 (99% confidence), ±2 (95%), ±1 (90%) after a false-discovery-rate correction for
# testing every region at once. Local Moran's I adds the pattern: HH a strong region among
# strong ones, HL a strong region standing alone, LH a weak region next to strong ones (the
# easiest expansion), LL weak among weak. Inference is analytic (no permutations), so the
# report renders in seconds.

# %%
insight.section(ctx, tables, "hotspots")

# %% [markdown] tags=["section-gaps"]
# ## Market gaps: blank and under-served regions
#
# Penetration is customers per million residents, and revenue per unit of GDP where the
# market has a GDP reference (the references, their sources and years:
# `data/reference/README.md`). The number of customers a region *should* have comes from a
# simple model of customers on population (and GDP where there is one); *customers short*
# is the shortfall. The model also gives the chance of a shortfall this large if the region
# were served like the others: only a small chance marks a real gap.

# %%
insight.section(ctx, tables, "gaps")

# %% [markdown] tags=["section-isolated"]
# ## Isolated customers
#
# Customers with no group of other customers nearby (great-circle distance, DBSCAN). They
# are listed with the distance to the nearest group and their profile, so that sales can
# ask why they chose us and whether they can anchor a new local market.

# %%
insight.section(ctx, tables, "isolated")

# %% [markdown] tags=["section-concentration"]
# ## Concentration
#
# How much of the revenue depends on a few regions and customers. A Gini near 1 or an HHI
# above 0.25 means losing one of them would hurt; growth must then come from widening the
# base.

# %%
insight.section(ctx, tables, "concentration")

# %% [markdown] tags=["section-segments"]
# ## Customer segments (RFM)
#
# Scores 1 to 5 for recency, frequency and monetary value (5 best), computed as of the end
# of the period.

# %%
insight.section(ctx, tables, "segments")

# %% [markdown] tags=["section-clusters"]
# ## Behaviour clusters (K-means)
#
# RFM uses fixed rules; clustering lets the data show which groups of buying behaviour
# exist (days since last order, orders, average order value, tenure; log-scaled and
# standardised). The number of groups is the one with the best silhouette; the other two
# quality scores are shown beside it (Calinski-Harabasz: higher is better;
# Davies-Bouldin: lower is better).

# %%
insight.section(ctx, tables, "clusters")

# %% [markdown] tags=["section-lifecycle"]
# ## Lifecycle
#
# Where each customer stands today: new, active, at risk, churned, or reactivated after a
# long silence. The windows are set in `workbook.yaml` (`analysis:`).

# %%
insight.section(ctx, tables, "lifecycle")

# %% [markdown] tags=["section-ltv"]
# ## Lifetime value
#
# The BG/NBD model estimates from each customer's purchase history how likely they are
# still buying and how many orders they will place; Gamma-Gamma estimates the value of
# those orders. Together they give the expected value of the next twelve months, to decide
# where retention effort pays. The model is first checked on the data: fitted on the history
# before its last third, it must predict the purchases of that last third better than a naive
# rule; when the data cannot carry it (too few repeat buyers, too short a history, a failed
# check) the section says why instead of showing values.

# %%
insight.section(ctx, tables, "ltv")

# %% [markdown] tags=["section-partners"]
# ## Channel partners: A/B/C
#
# Dealers and integrators scored on main product, business model, staff, finances and years
# in access control (the scoring table in `workbook.yaml`, `partners:`), with their value
# in the period (high/medium/low) and flags: new, high-frequency, high-value, churned.

# %%
insight.section(ctx, tables, "partners")

# %% [markdown] tags=["section-mix"]
# ## Product mix by region: what each region buys
#
# Each region's share of its revenue in each product category against the market's share:
# an index of 100 buys like the market, above 100 more of that category, below less. A
# cross-sell gap is a category the region's customers buy much less often than the
# market's customers while buying the rest of the range: its customers already know us,
# so offering them the missing category is the cheapest growth. Step 5 lists them.

# %%
insight.section(ctx, tables, "mix")

# %% [markdown] tags=["section-cohorts"]
# ## Cohort retention: do newer customers stay?
#
# Customers grouped by the quarter of their first purchase, and the share of each group
# still buying one, two, three ... quarters later (and of its first quarter's revenue). If
# the newer groups fade faster than the older ones did, the region is winning customers it
# cannot keep: look at onboarding, service and the fit of the customers won.

# %%
insight.section(ctx, tables, "cohorts")

# %%
insight.cohort_charts(ctx, tables)

# %% [markdown] tags=["section-bridge"]
# ## Why revenue changed: the revenue bridge
#
# The change of revenue from the previous period to this one, split by the customers behind
# it: customers new in this period, customers who bought last period but not this one, and
# customers who bought in both, buying more or less of the categories they already bought;
# when the orders carry product categories, what those customers spent on categories they
# added, minus what they spent on categories they dropped. The parts add up exactly to the
# change. Growth carried by new customers while last period's customers buy less is
# acquisition hiding a retention problem.

# %%
insight.section(ctx, tables, "bridge")

# %% [markdown] tags=["section-forecast"]
# ## Where revenue is heading: the forecast
#
# Revenue of the next months with a prediction interval, from exponential smoothing on the
# monthly revenue (a damped trend and a yearly season where the history supports them). The
# interval is checked on the past: fitted at earlier months, how often did it hold the
# revenue that followed? A coverage well below the nominal level means the interval is too
# narrow. Regions with too short a history, or too many months without revenue, get no
# number: the section says so.

# %%
insight.section(ctx, tables, "forecast")
# %% [markdown] tags=["section-profiles"]
# ## Who the customers are, by region
#
# Each region's customers by the attributes the data carry (channel, industry, company size,
# business model; for consumers age band, gender or city tier; `analysis.profile_attributes`
# in `workbook.yaml`) against the market's, with an index (100: the same share). Then the
# attribute values that are over-represented among the most valuable customers (the top 20%
# by revenue in the period), with the mean revenue per customer and its 95% interval: the
# profile a region should look for next. Only differences that are significant after
# correcting for the many comparisons count.

# %%
insight.section(ctx, tables, "profiles")

# %% [markdown] tags=["section-buying"]
# ## How they buy: frequency, intervals and order sizes
#
# On how many days a customer bought in the period, how many days pass between two
# purchase days, and how large an order is, per region (medians and quartiles: half of the
# customers, intervals or orders lie between the quartiles). Regions with too few values
# show none.

# %%
insight.section(ctx, tables, "buying")

# %%
from helpers.viz import charts

charts.plot_order_sizes(tables["buying"], market=ctx.scope.name, lang=lang,
                        currency=ctx.config.project.currency);

# %% [markdown] tags=["section-seasonality"]
# ## When they buy: seasons and days of the week
#
# The month-of-year index compares each calendar month with an average month (100), with the
# trend taken out; a seasonal pattern is stated only when the months differ more than their
# year-to-year noise (an F-test on at least two years of complete months). The days of the
# week show when orders are dated.

# %%
insight.section(ctx, tables, "seasonality")

# %%
charts.plot_seasonality(tables["seasonality"], market=ctx.scope.name, lang=lang);

# %% [markdown] tags=["section-discounts"]
# ## Discounts and what they go with
#
# When the orders carry a discount or a list price: how quantity and value differ between
# order lines with and without a discount, and how much revenue each region buys on
# discount. This describes what happened; it cannot say what a discount causes.

# %%
insight.section(ctx, tables, "discounts")

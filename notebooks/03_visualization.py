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
# Bars and shares show which regions carry the business; the Pareto and Lorenz curves show
# how concentrated it is; the trends show where it is moving; order values and customer
# segments show what kind of business each region is; the maps show it all on the ground.

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

from helpers.steps import goals, visuals
from helpers.viz import charts
from helpers.viz.maps import points, regions
from helpers.viz.maps.area import MapArea

tables = visuals.visual_tables(ctx)  # regions: provinces, or a province report's cities
currency = ctx.config.project.currency  # named on every money axis
area = MapArea.of(ctx.scope, ctx.config)  # the maps' country, a province report's cities, report.tiles
Markdown(goals.first_note(goals.load_brief(ctx), "03"))

# %% [markdown] tags=["section-revenue_by_region"]
# ## Revenue and customers by region
#
# The longest bars are where the business is today; each title says how much the leader and
# the top three bring. The regions outside the top are not drawn: a grey line under the bars
# says how many they are and what they bring together.

# %%
visuals.region_bars(ctx, tables, top=12)  # a city report (one region) says so instead

# %% [markdown] tags=["section-concentration"]
# ## How concentrated is revenue?
#
# Bars show each region's share of revenue; the line adds them up. Where the line crosses
# 80% tells how many regions carry four fifths of the business.

# %%
visuals.region_share(ctx, tables)

# %% [markdown]
# The Lorenz curves say the same for regions and for single customers: the further a curve
# sags below the diagonal, the more the business hangs on a few. The Gini coefficient
# sums it up (0: every region or customer brings the same, 1: one brings everything).
# A high customer Gini means losing one large account would hurt: those accounts deserve
# a named owner.

# %%
visuals.lorenz_curves(ctx, tables)  # regions and customers; a city report: its customers

# %% [markdown] tags=["section-customers_vs_revenue"]
# ## Customers against revenue
#
# The dashed line is the market's average revenue per customer (total revenue over total
# customers, a line through the origin). Regions above it earn more per customer; regions
# below it (orange) earn less, a case for up-selling: the title names those that would add
# the most revenue at the market's average.

# %%
visuals.customers_against_revenue(ctx, tables)

# %% [markdown] tags=["section-trend"]
# ## Monthly revenue trend
#
# The largest regions month by month (net of returns). Watch for regions whose line bends
# down while the market grows.

# %%
charts.plot_trend(tables["monthly"], value="revenue", hue=tables["level"], top=6, lang=lang,
                  currency=currency);

# %% [markdown] tags=["section-order_values"]
# ## How large is a typical order?
#
# Order values spread over several orders of magnitude, so the axis is logarithmic. The
# median is the typical order; a mean far above it means a few large projects carry the
# revenue. Returns are counted but cannot be placed on this axis.

# %%
charts.plot_order_values(tables["period_orders"], lang=lang, currency=currency);

# %% [markdown] tags=["section-segment_mix"]
# ## What kind of customers does each region have?
#
# Customers are grouped by how recently, how often and how much they buy (RFM). Green
# segments are the healthy base; orange and red ones are slipping away. A region with a
# large red share needs a win-back campaign more than new prospects.

# %%
charts.plot_segment_mix(tables["segments"], region=tables["level"], top=12, lang=lang);

# %% [markdown] tags=["section-region_map"]
# ## Map: where is the money?
#
# Each region is coloured by its revenue in the period, in classes of about equal size, so
# the darkest regions are the top fifth. Grey dashed regions have **no customers at all**:
# the blank spots, candidates for new markets. In a province report the map shows the
# province's cities. Where no outlines are available (states outside China and the US)
# each region is a circle sized by its revenue, a grey ring when it has no customers. Hover
# over a region for its numbers.

# %%
regions.region_map(tables["kpis"], value="revenue", area=area, lang=lang)

# %% [markdown] tags=["section-customer_map"]
# ## Map: every customer
#
# Customers cluster into numbered bubbles when zoomed out; the heat layer shows density.
# Toggle the layers at the top right. Names are not shown in shared reports, and locations
# are rounded to about 100 m.

# %%
points.customer_map(ctx.customers, area=area, lang=lang, mask_pii=mask_pii)

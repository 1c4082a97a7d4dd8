# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Step 5 · Strategy: what do we do in each region?
#
# Each region is put in a tier by the rules in `workbook.yaml` (`strategy:`), with the
# numbers that put it there. Each tier and each customer segment has a playbook with
# owners and the KPI to watch; the marketing budget is split anew by expected return;
# and, given an earlier run, the report shows what changed. The campaign and partner
# lists (customers' names and contacts) are exported to CSV and Excel only and never
# appear in this report. The action list shows its first rows here, with the sales reps'
# names masked unless `report.show_rep_names` is true in `workbook.yaml`; the CSV and
# Excel files hold all of it with full names (they are the contact lists). The sections
# follow the objective of step 1's brief.

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

from helpers.steps import goals, insight, strategy

step4 = insight.ensure_insight(ctx)
tables = strategy.strategy_tables(ctx, step4, baseline_run=baseline_run)
strategy.save_strategy(ctx, tables)
Markdown(goals.objective_note(goals.load_brief(ctx)))

# %% [markdown]
# ## Executive summary
#
# The five findings that matter most for the objective, each with its number.

# %%
strategy.summary_section(tables)

# %% [markdown]
# In the shared report the sections below come in the order the objective puts first.

# %% [markdown] tags=["section-tiers"]
# ## Region tiers and their evidence
#
# Every region gets one tier, and its tier decides what the playbook asks of it.

# %%
strategy.tiers_section(ctx, tables)

# %% [markdown] tags=["section-playbook"]
# ## Playbook and action list
#
# What to do in each kind of market, who owns it and the KPI that shows progress. Sales
# actions go to the reps of the region's territory by name.

# %%
strategy.playbook_section(ctx, tables)

# %% [markdown] tags=["section-budget"]
# ## Budget reallocation
#
# The marketing budget split anew: the objective decides the direction (which regions get
# a test budget, which are held, which may give), each region's reason says why it moves,
# and where the rule leaves it free the spend follows the return it is expected to bring,
# within the floors and caps set in `workbook.yaml` (`budget:`).

# %%
strategy.budget_section(ctx, tables)

# %% [markdown] tags=["section-customers"]
# ## Customer campaigns
#
# One campaign per RFM segment, worked by the customer's own rep where the action is for
# sales. The table counts customers per campaign; names and contacts are only in
# `campaign_list.csv` (every customer) and in the whole market's actions.xlsx (every
# region's rows, at most `report.excel_list_rows` per list, the first in priority order;
# `report.excel_lists: every_region` puts a region's in its own too).

# %%
strategy.customers_section(ctx, tables)

# %% [markdown] tags=["section-partners"]
# ## Channel partner plans
#
# Channel partners by A/B/C tier (step 4's scoring table). B-tier partners get a
# development plan that works on their weakest scoring factors; the list with contacts is
# in `partner_plans.csv` and in the whole market's actions.xlsx (its first
# `report.excel_list_rows` rows when it is longer).

# %%
strategy.partners_section(ctx, tables)

# %% [markdown] tags=["section-monitoring"]
# ## Compared with an earlier run
#
# What changed since an earlier run of the same region (`baseline_run`): tiers, regions
# newly blank or hot, and how customers moved between segments.

# %%
strategy.monitoring_section(ctx, tables)

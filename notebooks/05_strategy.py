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
# numbers that put it there. Each tier has a playbook; the action list names owners and
# the KPI to watch, and is exported with the campaign list (which may hold contact data
# and therefore never appears in this report).

# %% tags=["parameters"]
region: str = "ALL"  # ALL, a territory (华东 / East China) or a province in any spelling (广东, Guangdong)
run_dir: str = ""  # reports/<run_id>; empty: reports/interactive
config: str = "workbook.yaml"  # the workbook config (relative to the project root)
period_end: str = ""  # last day of the analysis period, e.g. 2025-12-31; empty: last order date
lang: str = "en"  # en | zh: language of charts and generated text
mask_pii: bool = True  # mask names, phones, e-mails and addresses in this report
objective: str = "find_new_markets"  # find_new_markets | reallocate_resources | compare_regions | keep_valuable_customers | tier_partners

# %%
from helpers import steps

ctx = steps.open_step(region=region, run_dir=run_dir, config=config, period_end=period_end,
                      lang=lang, mask_pii=mask_pii)
ctx.heading()

# %%
from helpers import insights, plan

insight = insights.ensure_insight(ctx)
tables = plan.strategy_tables(ctx, insight)
plan.save_strategy(ctx, tables)
tiers = tables["tiers"]

# %% [markdown]
# ## Executive summary

# %%
plan.executive_summary(ctx, insight, tables)

# %% [markdown]
# ## Region tiers and their evidence

# %%
tier_columns = [c for c in ["region", "region_en", "tier", "tier_reason", "customers", "revenue",
                            "share", "growth_yoy", "gap_ratio"] if c in tiers]
tiers.sort_values(["tier", "revenue"], ascending=[True, False])[tier_columns].round(3)

# %% [markdown]
# ## The playbook

# %%
tables["playbook"]

# %% [markdown]
# ## Action list (first rows; the full list is in `actions.csv` / `actions.xlsx`)

# %%
tables["actions"].head(25)

# %% [markdown]
# ## Campaign list by customer segment
#
# How many customers each campaign targets; names and contacts are only in the exported
# `campaign_list.csv` and `actions.xlsx`.

# %%
tables["campaign"].groupby(["segment", "action"]).size().rename("customers").reset_index()

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
region: str = "ALL"  # ALL, a territory (华东 / East China) or a province in any spelling (广东, Guangdong)
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
                      lang=lang, mask_pii=mask_pii)
ctx.heading()

# %%
from IPython.display import Markdown

from helpers.steps import goals
from helpers.steps import insight, strategy
from helpers.text.lookup import say
from helpers.text.markup import md_text  # text from the data inside markdown: shown as text

brief = goals.load_brief(ctx, objective)
step4 = insight.ensure_insight(ctx)
tables = strategy.strategy_tables(ctx, step4, baseline_run=baseline_run)
strategy.save_strategy(ctx, tables)
title = md_text(brief["title"])
Markdown(say("objective_missing", lang, title=title,
             warnings="; ".join(md_text(w) for w in brief["warnings"]))
         if brief["warnings"] else say("objective_only", lang, title=title))

# %% [markdown]
# ## Executive summary
#
# The five findings that matter most for the objective, each with its number.

# %%
strategy.executive_summary(ctx, step4, tables, objective)

# %% [markdown]
# The sections below come in the order the objective puts first.

# %%
for section in strategy.section_order(brief):
    strategy.show_section(section, ctx, tables)

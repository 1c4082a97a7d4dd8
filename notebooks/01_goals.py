# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Step 1 · Goals: what do we want to learn?
#
# Before any chart, the analysis states its objective, the KPIs that will judge the
# regions, the period compared with its baseline, and whether the data at hand can answer
# the question. The brief is saved as `goals.json`; the later steps read it and put first
# what the objective needs. The objective changes the order of things, never a number.

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

from helpers.steps import goals

brief = goals.goals_brief(ctx)
goals.save_brief(ctx, brief)
Markdown(goals.question(brief))

# %% [markdown]
# ## Can the data answer the question?
#
# Anything the chosen objective needs and the configured data lacks is listed here,
# before it surprises a later step. The steps still run: what cannot be computed is left
# out with a note.

# %%
Markdown(goals.data_note(brief))

# %%
ctx.show(goals.checks_table(brief), rows=None)

# %% [markdown]
# ## The brief
#
# The current period is compared with the period of the same length just before it
# (the baseline period).

# %%
ctx.show(goals.brief_table(brief), rows=None)

# %% [markdown]
# ## KPIs that judge the regions
#
# Each with its formula, unit and target (`objectives: targets:` in `workbook.yaml`).

# %%
ctx.show(goals.kpi_table(brief), rows=None)

# %% [markdown]
# ## Thresholds
#
# The rules that sort regions into tiers and bound the budget come from `workbook.yaml`
# (`strategy:`, `budget:`), so the team argues about numbers, not opinions. These are
# the ones this objective leans on.

# %%
ctx.show(goals.threshold_table(brief), rows=None)

# %% [markdown]
# ## What the later steps put first

# %%
ctx.show(goals.first_table(brief), rows=None)

# %% [markdown]
# ## Assumptions

# %%
Markdown(goals.assumption_list(brief))

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
# the question. The brief is saved as `goals.json` and read by the later steps.

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
import pandas as pd

from helpers import goals

brief = goals.goals_brief(ctx, objective)
steps.write_json(brief, ctx.out / "goals.json")
print(brief["objective_text"])

# %% [markdown]
# ## The brief
#
# The current period is compared with the period of the same length just before it
# (the baseline). Regions are judged on the KPIs below; the thresholds come from
# `workbook.yaml` (`strategy:`) so the whole team argues about numbers, not opinions.

# %%
pd.DataFrame([
    ("objective", brief["objective_text"]),
    ("region", brief["region_label"]),
    ("provinces in scope", len(brief["provinces_in_scope"])),
    ("period", f"{brief['period_start']:%Y-%m-%d} – {brief['period_end']:%Y-%m-%d}"),
    ("baseline", f"{brief['baseline_start']:%Y-%m-%d} – {brief['baseline_end']:%Y-%m-%d}"),
    ("customers in scope", brief["data"]["customers"]),
    ("order lines in scope", brief["data"]["orders"]),
], columns=["item", "value"]).set_index("item")

# %% [markdown]
# ## KPIs and how they are computed

# %%
pd.DataFrame(brief["kpis"]).set_index("kpi")

# %% [markdown]
# ## Thresholds that will sort regions into tiers

# %%
pd.Series(brief["thresholds"], name="value").to_frame()

# %% [markdown]
# ## Can the data answer the question?
#
# Anything missing for the chosen objective is listed here, before it surprises a later step.

# %%
pd.DataFrame({"warning": brief["warnings"] or ["none: the configured data covers every KPI"]})

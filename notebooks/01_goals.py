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
import pandas as pd
from IPython.display import Markdown

from helpers.files import write_json
from helpers.steps import goals
from helpers.text.lookup import headers, say, text
from helpers.text.markup import md_text  # text from the data inside markdown: shown as text

brief = goals.goals_brief(ctx, objective)
write_json(brief, ctx.out / "goals.json")
Markdown(f"**{md_text(brief['title'])}**: {md_text(brief['question'])}")

# %% [markdown]
# ## Can the data answer the question?
#
# Anything the chosen objective needs and the configured data lacks is listed here,
# before it surprises a later step. The steps still run: what cannot be computed is left
# out with a note.

# %%
if brief["warnings"]:
    shown = Markdown(say("data_missing", lang) + "\n\n"
                     + "\n".join(f"- {md_text(w)}" for w in brief["warnings"]))
else:
    shown = Markdown(say("data_complete", lang))
shown

# %%
headers(pd.DataFrame([{"data": need, "available": text("brief", "yes" if c["available"] else "NO", lang),
                       "found": c["detail"], "what it is": c["what"]}
                      for need, c in brief["data_checks"].items()]).set_index("data"), lang)

# %% [markdown]
# ## The brief
#
# The current period is compared with the period of the same length just before it
# (the baseline period).

# %%
goals.brief_table(brief)

# %% [markdown]
# ## KPIs that judge the regions
#
# Each with its formula, unit and target (`objectives: targets:` in `workbook.yaml`).

# %%
goals.kpi_table(brief)

# %% [markdown]
# ## Thresholds
#
# The rules that sort regions into tiers and bound the budget come from `workbook.yaml`
# (`strategy:`, `budget:`), so the team argues about numbers, not opinions. These are
# the ones this objective leans on.

# %%
pd.Series({k: str(v) for k, v in brief["thresholds"].items()}, name="value").to_frame()

# %% [markdown]
# ## What the later steps put first

# %%
headers(pd.DataFrame([{"step": step, "first": "; ".join(goals.section_titles(step, items, lang))}
                      for step, items in brief["first"].items()]).set_index("step"), lang)

# %% [markdown]
# ## Assumptions

# %%
Markdown("\n".join(f"- {md_text(a)}" for a in brief["assumptions"]))

# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Step 2 · Data prep: from raw exports to clean, canonical tables
#
# The CRM and ERP exports named in `workbook.yaml` are read with their encodings, their
# columns mapped to the canonical names, place names normalised to official province and
# city names, customers located (own coordinates, else the city or province centre),
# duplicates merged and every table validated. **Every input row is accounted for** in the
# ledger below: it was kept, merged into another row, or set aside with a reason.
#
# In a batch run this step is computed once per run and shared by every region; this
# notebook then shows the data quality of the region it reports on.

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
import pandas as pd
from IPython.display import Markdown

from helpers.data.ledger import check_ledger
from helpers.steps import prep

result = ctx.prep
quality_file = prep.save_data_quality(ctx)
ledger = check_ledger(result.ledger)

# %% [markdown]
# ## The row ledger
#
# For each input file: rows read = kept + merged + quarantined. Merged rows are exact
# duplicates or the same customer exported by two systems (their values are combined);
# quarantined rows are set aside with the reason and saved in `prep/quarantine.csv`.

# %%
ctx.show(ledger, rows=None, shown=prep.LEDGER_COLUMNS)

# %%
ctx.show(prep.set_aside(result.ledger, ctx.lang), rows=None, free_text=["reason"])

# %% [markdown]
# ## Where are the customers located, and how precisely?
#
# Customers with *own coordinates* are mapped where they are; the others sit at the centre
# of the finest region we could resolve (*district*, *city* or *province centre*). A high
# share with *no location* means the address data needs fixing at the source.

# %%
ctx.show(prep.location_precision(ctx.customers), rows=None)

# %% [markdown]
# Customers without a region (a place name not resolved, another country, an area outside
# the market's extent) are kept: they count in every total and are listed here by reason.

# %%
prep.no_region(ctx)

# %% [markdown]
# ## Place names that could not be resolved
#
# These values are kept (the customers are not dropped) but count as "no province". Fix
# them in the export, or add the spelling to the gazetteer. A place column sometimes
# holds a person's name or phone typed into the wrong field, so shared reports show
# each value masked (its first character; phone numbers to their last four digits)
# beside its count and the nearest known names; `prep/unresolved.csv` has them in full.

# %%
ctx.show(result.unresolved.sort_values("rows", ascending=False), rows=15, columns=["value"],
         file="../prep/unresolved.csv", empty=prep.say_none("unresolved", ctx.lang))

# %% [markdown]
# ## Possible duplicates under different ids
#
# Customers whose name and phone (or name and city) match although their ids differ, for
# example the same dealer created twice in the CRM. They are flagged, not merged, unless
# `identity.duplicates` says to merge them; personal data is masked in shared reports.

# %%
dups = result.duplicates
Markdown(prep.duplicates_note(dups, ctx.lang))

# %%
ctx.show(dups, rows=15, file="../prep/duplicates.csv", shown=prep.DUPLICATE_COLUMNS)

# %% [markdown]
# ## Other notes from the cleaning

# %%
ctx.show(pd.DataFrame({"note": prep.note_texts(result.notes, ctx.lang)}), rows=None,
         free_text=["note"], empty=prep.say_none("notes", ctx.lang))

# %% [markdown]
# ## The clean tables (first rows; personal data masked)

# %%
ctx.show(ctx.customers, rows=5, shown=prep.CUSTOMER_COLUMNS)

# %%
ctx.show(ctx.first_orders(5), rows=5, total=int(prep.line_counts(ctx)["lines"]),
         shown=prep.ORDER_COLUMNS)

# %%
ctx.show(prep.table_rows(ctx), rows=None)

"""Deterministic generator of the bundled sample data, with a planted story and planted mess.

The business: a maker of access-control and security devices (门禁/安防) selling across
the 31 provinces of mainland China through channel partners (经销商 dealers, 系统集成商
system integrators) and to direct enterprise accounts (直销大客户).

:func:`generate` returns the *clean* canonical tables (``customers``, ``orders``,
``reps``, ``spend``; the columns of ``docs/architecture.md``). They carry a story that
the later steps should find (see :data:`STORY`): coastal hot spots, under-served
populous provinces, blank provinces, an emerging and a declining province, a handful
of isolated customers, a category under-indexing in one territory (a cross-sell gap), a
province growing on new customers while losing old ones and a seasonal pattern.
:func:`write_raw` writes them out the way CRM/ERP exports look (the files, encodings,
sheets and column names of ``workbook.yaml``) with countable mess planted: messy province
spellings, duplicate rows, partners in two systems, unknown customers, cancelled orders.
The exact counts go to ``mess.json``.

Everything is vectorised (no Python loop per customer or order line), so
``generate(1_000_000)`` runs in well under a minute. :func:`write_large` writes the same
files without holding every order line in memory (for 100 million lines).

The modules:

- ``story``: :data:`STORY` and the business's constants (channels, products, prices).
- ``places``: provinces and cities with their sampling weights; ``haversine_km``.
- ``names``: random person names and phone numbers.
- ``customers``, ``reps``, ``orders``, ``spend``: drawing each table; ``tables``:
  :func:`generate`, which draws them all.
- ``arrow``: columns built in Arrow (ids, decoded codes, strings for the files).
- ``mess``: how much mess, messy place spellings, where duplicates go.
- ``raw``: :func:`write_raw` and the file names; ``files``: CSV and .xlsx writers.
- ``large``: :func:`write_large`, the raw files with the order lines drawn per block of
  customers and written per window of days (bounded memory).
- ``readme``: the sample's ``README.md`` (:func:`story_table`, :func:`planted_facts`,
  :func:`isolation_km`).
- ``cli``: :func:`main`, the command line.

Command line::

    python -m samplegen --customers 5000 --seed 20231101 --out data/sample
"""

from __future__ import annotations

from samplegen.cli import main
from samplegen.large import write_large
from samplegen.raw import write_raw
from samplegen.readme import isolation_km, planted_facts, story_table, write_readme
from samplegen.story import STORY
from samplegen.tables import generate

__all__ = ["STORY", "generate", "write_raw", "write_large", "write_readme", "story_table", "planted_facts",
           "isolation_km", "main"]

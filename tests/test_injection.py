"""Injection: payloads in every text field that can reach a report or an export.

A tiny generated dataset is planted with template (Jinja2 that would create a folder,
print the kernel's pid or compute a number), script (``<script>``, ``<img onerror>``),
markdown-link (``[x](javascript:...)``), attribute-breaking (``" onmouseover=...``),
backtick and formula (``=HYPERLINK(...)``) payloads in: customer and partner names,
customer ids, cities, product categories, channels, industries, contacts, addresses,
sales reps' names, territory names (config), the source name (config), the project
name (config), a file name, a sheet name, a column header (mapped through the config)
and the run id. The batch runs twice, personal data unmasked in English and masked in
Chinese (the whole market and the territory whose name is a payload; the masked run
also Guangdong, whose report maps its cities), and the tests assert:

- on disk: no folder or file was created by a template, no kernel pid and no computed
  number reached any file, every XLSX holds no formula, every CSV cell that would start
  a formula is neutralised (a leading quote);
- in headless Chromium (every report of both runs and both index pages): no alert
  fires, no element carries an event handler or a ``javascript:`` URL, no ``<img
  src=x>`` or planted ``<script>`` exists, and the payloads show as text where their
  field is shown (map tooltips included), and personal data does not show masked.

Each payload's ``alert(N)`` names its field and kind, so a failure says which one.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from browsers import CHROMIUM, offline_chromium

from helpers.config import DEFAULT_CONFIG
from helpers.files import neutralise_text

pytestmark = pytest.mark.kernel

KINDS = ("tpl_dir", "tpl_quoted", "tpl_pid", "tpl_sum", "script", "img", "md", "attr", "tick",
         "formula")
PROBE_ENV = "WB_INJECTION_PROBE"
PID_MARK = re.compile(r"PID\d+")
SUM_MARK = "EVAL1337"


class Payloads:
    """Every planted text, with the field and kind each ``alert(N)`` (or ``#N``) stands for.

    Each text is unique (it carries its number), so a text found in a page is known
    to come from its field."""

    def __init__(self, marks: Path):
        self.marks = marks
        self.codes: dict[int, str] = {}
        self.planted: dict[str, list[str]] = {}

    def text(self, field: str, kind: str) -> str:
        code = 100 + len(self.codes)
        self.codes[code] = f"{field}/{kind}"
        word = re.sub(r"\W", "_", field)
        text = {
            # no quotes: nothing in the way of running it (the folder comes from the env)
            "tpl_dir": "{{ cycler.__init__.__globals__.os.mkdir(cycler.__init__.__globals__"
                       f".os.environ.{PROBE_ENV} ~ dict({word}=1)|list|first) }}}}",
            "tpl_quoted": "{{ cycler.__init__.__globals__.os.system('touch "
                          f"{self.marks}/{word}-quoted') }}}}",
            "tpl_pid": "{{ dict(PID=1)|list|first ~ cycler.__init__.__globals__.os.getpid() }}"
                       f" #{code}",
            "tpl_sum": f"{{{{ dict(EVAL=1)|list|first ~ 7*191 }}}} #{code}",
            "script": f"<script>alert({code})</script>",
            "img": f"<img src=x onerror=alert({code})>",
            "md": f"[x{code}](javascript:alert({code}))",
            "attr": f'" onmouseover="alert({code})" x="',
            "tick": f"`<img src=x onerror=alert({code})>`",
            "formula": f'=HYPERLINK("http://example.com/{code}","click{code}")',
        }[kind]
        self.planted.setdefault(field, []).append(text)
        return text

    def cycle(self, field: str, n: int, kinds=KINDS) -> list[str]:
        return [self.text(field, kinds[i % len(kinds)]) for i in range(n)]


# --------------------------------------------------------------------------- the data


def _revenue_order(customers: pd.DataFrame, orders: pd.DataFrame) -> pd.Index:
    """Guangdong customers, largest order revenue first (the ones every report shows)."""
    revenue = orders.groupby("customer_id")["amount"].sum()
    gd = customers[customers["province"].astype(str).str.startswith("广东")]
    return gd.assign(_r=gd["customer_id"].map(revenue).fillna(0)).sort_values(
        "_r", ascending=False, kind="mergesort").index


def _plant(tables: dict, p: Payloads) -> None:
    c, o, reps = tables["customers"], tables["orders"], tables["reps"]
    order = list(_revenue_order(c, o))
    partner = set(c.index[c["channel"].isin(["经销商", "系统集成商"])])
    top_partners = [i for i in order if i in partner]
    direct = [i for i in order if i not in partner]
    n = len(KINDS)
    for i, text in zip(top_partners[:n], p.cycle("name", n), strict=False):
        c.loc[i, "name"] = text
    for i, text in zip(order[n:2 * n], p.cycle("customer_id", n), strict=False):
        old = c.loc[i, "customer_id"]
        c.loc[i, "customer_id"] = text
        o.loc[o["customer_id"] == old, "customer_id"] = text
    located_by_city = order[2 * n:3 * n]  # no address or point: the city cell is all there is
    for i, text in zip(located_by_city, p.cycle("city", n), strict=False):
        c.loc[i, ["city", "address", "lat", "lon"]] = [text, None, None, None]
    for i, text in zip(direct[:n], p.cycle("channel", n), strict=False):
        c.loc[i, "channel"] = text
    for column, rows in (("industry", order[:n]), ("contact", order[n:2 * n]),
                         ("address", order[:n])):
        for i, text in zip(rows, p.cycle(column, n), strict=False):
            c.loc[i, column] = text
    gd_ids = set(c.loc[order, "customer_id"])
    first_lines = o.index[o["customer_id"].isin(gd_ids)][:n]
    o.loc[first_lines, "product_category"] = p.cycle("category", len(first_lines))
    south = list(reps.index[reps["region"] == "华南"]) + list(reps.index[reps["region"] != "华南"])
    for i, text in zip(south[:n], p.cycle("rep", n), strict=False):
        reps.loc[i, "name"] = text


def _rewrite_csv(path: Path, encoding: str, tokens: dict[str, str]) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    frame.map(lambda v: tokens.get(v, v)).to_csv(path, index=False, encoding=encoding)


def build(folder: Path, p: Payloads) -> dict:
    """The planted raw files and config; returns the config path and the territory."""
    import samplegen as sample
    from samplegen.raw import CRM_FILE, ERP_FILE, ORDERS_FILE, REPS_FILE, REPS_SHEET

    tables = sample.generate(n_customers=300, seed=23)
    _plant(tables, p)
    # The sample writer does not quote CSV fields: write placeholders, then the payloads.
    tokens: dict[str, str] = {}

    def placeholder(value):
        if isinstance(value, str) and value in p.planted_values:
            key = f"PLANTED{len(tokens):05d}X"
            tokens[key] = value
            return key
        return value

    p.planted_values = {t for texts in p.planted.values() for t in texts}
    tables = {name: frame.map(placeholder) for name, frame in tables.items()}
    data = folder / "data"
    sample.write_raw(tables, data, seed=23)
    _rewrite_csv(data / ERP_FILE, "gbk", tokens)
    _rewrite_csv(data / ORDERS_FILE, "utf-8", tokens)

    # ERP-only partners: their name comes from the ERP file alone.
    crm = pd.read_csv(data / CRM_FILE, dtype=str, keep_default_na=False,
                      encoding="utf-8-sig").map(lambda v: tokens.get(v, v))
    erp = pd.read_csv(data / ERP_FILE, dtype=str, keep_default_na=False, encoding="gbk")
    only = erp.index[~erp["往来单位编码"].isin(crm["客户编号"])]
    assert len(only) >= 3, "the generator should leave a few ERP-only partners"
    kinds = ("tpl_dir", "tpl_pid", "img", "md", "formula", "attr", "script", "tick")
    erp.loc[only, "单位名称"] = p.cycle("partner", len(only), kinds)
    erp.map(lambda v: tokens.get(v, v)).to_csv(data / ERP_FILE, index=False,
                                                encoding="gbk")

    config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    config["paths"] = {"data": "data", "reports": "reports"}
    config["report"] = {**config["report"], "tiles": "none"}
    config["project"]["name"] = f"Project {p.text('project', 'img')} {p.text('project', 'tpl_sum')}"
    # territories: 华南 (Guangdong's) gets the markdown link (it names its folder and reports)
    names = {"华南": p.text("territory", "md")}
    for old, kind in zip([t for t in config["geography"]["territories"] if t != "华南"],
                         ("tpl_dir", "tpl_pid", "tpl_quoted", "img", "attr", "tick"), strict=True):
        names[old] = p.text("territory", kind)
    config["geography"]["territories"] = {names[k]: v for k, v in
                                          config["geography"]["territories"].items()}
    # the reps' sheet: its name, and the territory names in it
    reps_path = data / REPS_FILE
    reps = pd.read_excel(reps_path, sheet_name=REPS_SHEET, dtype=str, engine="openpyxl")
    reps = reps.map(lambda v: tokens.get(v, v))
    reps["负责区域"] = reps["负责区域"].map(names).fillna(reps["负责区域"])
    sheet = p.text("sheet", "img")
    assert len(sheet) <= 31
    with pd.ExcelWriter(reps_path, engine="openpyxl") as book:
        reps.to_excel(book, sheet_name=sheet, index=False)
    config["sources"]["reps"][0]["sheet"] = sheet
    # the CRM file: its name, a column header, and the CSV rewritten with the payloads
    header = f"{p.text('header', 'attr')} {p.text('header', 'img')} {p.text('header', 'tpl_sum')}"
    crm = crm.rename(columns={"客户名称": header})
    file_name = f"crm {p.text('file', 'tick')} {p.text('file', 'tpl_sum')} =1+1.csv"
    (data / CRM_FILE).unlink()
    crm.to_csv(data / file_name, index=False, encoding="utf-8-sig")
    source = config["sources"]["customers"][0]
    source["file"], source["columns"]["name"] = file_name, header
    source["name"] = p.text("source", "img")
    path = folder / "workbook.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    return {"config": path, "territory": names["华南"]}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    from helpers.run import batch

    folder = tmp_path_factory.mktemp("injection")
    marks = folder / "marks"
    marks.mkdir()
    p = Payloads(marks)
    setup = build(folder, p)
    old = os.environ.get(PROBE_ENV)
    os.environ[PROBE_ENV] = f"{marks}{os.sep}"  # the kernels inherit it
    runs = {}
    try:
        # the whole market comes first in every run
        for mode, lang, regions in (("unmasked", "en", setup["territory"]),
                                    ("masked", "zh", f"{setup['territory']},广东")):
            run_id = f"{mode} {p.text('run', 'tick')} {p.text('run', 'tpl_sum')}"
            args = ["--config", str(setup["config"]), "--regions", regions, "--jobs", "2",
                    "--reports", str(folder / "reports"), "--run-id", run_id, "--lang", lang]
            if mode == "unmasked":
                args.append("--no-mask-pii")
            status = batch.main(args)
            runs[mode] = {"dir": folder / "reports" / run_id, "status": status, "lang": lang}
    finally:
        if old is None:
            os.environ.pop(PROBE_ENV, None)
        else:
            os.environ[PROBE_ENV] = old
    return {"payloads": p, "marks": marks, "runs": runs, "folder": folder, **setup}


# --------------------------------------------------------------------------- on disk


def _text_files(run_dir: Path) -> list[Path]:
    return [f for f in run_dir.rglob("*") if f.suffix in (".html", ".ipynb", ".csv", ".json")]


# A chart's PNG as base64, in a page (data: URL) or a notebook ("image/png" output): its
# letters and digits can spell "PID8" by chance, so the marks are looked for outside it.
_IMAGE_DATA = re.compile(r'data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+|"image/png": "[^"]*"')


def _without_images(text: str) -> str:
    return _IMAGE_DATA.sub("", text)


def test_the_runs_finish_and_nothing_ran_as_a_template(planted):
    for mode, run in planted["runs"].items():
        manifest = json.loads((run["dir"] / "manifest.json").read_text("utf-8"))
        failed = {r["label"]: r.get("error") for r in manifest["regions"] if r["status"] != "ok"}
        assert run["status"] == 0 and not failed, f"{mode}: {failed}"
        assert len(list(run["dir"].glob("*/0[1-5]_*.html"))) == 5 * len(manifest["regions"])
    created = [p.name for p in planted["marks"].iterdir()]
    assert created == [], f"a template from the data ran: created {created}"
    strays = [p for p in planted["folder"].rglob("*") if p.name.endswith("-quoted")]
    assert strays == []
    for run in planted["runs"].values():
        for path in _text_files(run["dir"]):
            text = _without_images(path.read_text(encoding="utf-8", errors="replace"))
            assert not PID_MARK.search(text), f"a pid reached {path.relative_to(run['dir'])}"
            assert SUM_MARK not in text, f"a template was evaluated into {path.name}"


def test_no_export_holds_a_formula(planted):
    from openpyxl import load_workbook

    p = planted["payloads"]
    formulas = [t for texts in p.planted.values() for t in texts if t.startswith("=")]
    seen_neutralised = set()
    for run in planted["runs"].values():
        books = list(run["dir"].rglob("*.xlsx"))
        assert books, "step 5 writes actions.xlsx"
        for book in books:
            cells = [c for sheet in load_workbook(book).worksheets
                     for row in sheet.iter_rows() for c in row]
            live = [f"{c.parent.title}!{c.coordinate}" for c in cells if c.data_type == "f"]
            assert live == [], f"{book.name}: formula cells {live[:5]}"
            seen_neutralised |= {c.value for c in cells if isinstance(c.value, str)
                                 and c.value.startswith("'=HYPERLINK")}
        for path in run["dir"].rglob("*.csv"):
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, header=None)
            for value in raw.to_numpy().ravel():
                if value.lstrip()[:1] in ("=", "+", "-", "@") or value[:1] in ("\t", "\r"):
                    assert _number(value), f"{path.relative_to(run['dir'])}: {value[:60]!r}"
            seen_neutralised |= {v for v in raw.to_numpy().ravel() if v.startswith("'=HYPERLINK")}
    # the formula payloads are in the exports, as text (names, ids, reps, categories ...)
    assert {neutralise_text(f) for f in formulas} & seen_neutralised
    names = [t for t in p.planted["name"] if t.startswith("=")]
    campaign = pd.read_csv(planted["runs"]["unmasked"]["dir"] / "all" / "campaign_list.csv",
                           dtype=str)
    assert {neutralise_text(n) for n in names} <= set(campaign["name"])


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- in the browser

RECORD_ALERTS = """
window.__alerts = [];
window.alert = window.confirm = window.prompt = function (m) { window.__alerts.push(String(m)); };
"""

# What a page (and each map iframe in it) shows and whether anything from the data
# became markup: alerts, event-handler attributes, javascript: URLs, <img src=x>,
# planted <script>s; the visible text; each map tooltip as Leaflet would show it.
INSPECT = """
function inspect(doc, win, out) {
  out.alerts = out.alerts.concat(win.__alerts || ['no alert recorder']);
  doc.querySelectorAll('*').forEach(function (el) {
    Array.from(el.attributes).forEach(function (a) {
      var name = a.name.toLowerCase(), value = a.value.replace(/[\\s\\x00-\\x1f]/g, '').toLowerCase();
      if (name.indexOf('on') === 0 ||
          (['href', 'src', 'action', 'formaction'].indexOf(name) >= 0 &&
           value.indexOf('javascript:') === 0)) {
        out.markup.push(el.tagName + ' ' + a.name + '=' + a.value.slice(0, 80));
      }
    });
  });
  doc.querySelectorAll('img[src="x"]').forEach(function (el) { out.markup.push('IMG src=x'); });
  doc.querySelectorAll('script').forEach(function (el) {
    // a planted <script> element (the maps' own scripts hold the names only as text)
    if (/^\\s*alert\\(\\d+\\)\\s*$/.test(el.textContent)) { out.markup.push('SCRIPT ' + el.textContent); }
  });
  out.text.push(doc.body ? doc.body.innerText : '');
  if (win.L) {
    Object.keys(win).forEach(function (k) {
      var layer;
      try { layer = win[k]; } catch (e) { return; }
      if (!layer || typeof layer.eachLayer !== 'function' || !(layer instanceof win.L.Layer)) {
        return;
      }
      var seen = layer.getLayers ? layer.getLayers() : [];
      seen.forEach(function (m) {
        var tip = m.getTooltip && m.getTooltip();
        if (!tip) { return; }
        var box = doc.createElement('div');
        box.innerHTML = String(tip.getContent());   // what Leaflet does with the text
        out.tips.push(box.textContent);
        box.querySelectorAll('*').forEach(function (el) {
          if (['B', 'BR'].indexOf(el.tagName) < 0) { out.markup.push('TOOLTIP ' + el.tagName); }
        });
      });
    });
  }
  doc.querySelectorAll('iframe').forEach(function (f) {
    if (f.contentDocument) { inspect(f.contentDocument, f.contentWindow, out); }
  });
  return out;
}
return inspect(document, window, {alerts: [], markup: [], text: [], tips: []});
"""


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium binary (Debian package 'chromium'): browser checks not run")
    with offline_chromium(1280, on_new_document=RECORD_ALERTS) as driver:
        yield driver


def _open(driver, page: Path) -> dict:
    driver.get(page.as_uri())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the maps load in their iframes after the page
        ready = driver.execute_script(
            "return document.readyState === 'complete' && Array.from("
            "document.querySelectorAll('iframe')).every(function (f) {"
            "return f.contentDocument && f.contentDocument.readyState === 'complete'; });")
        if ready:
            break
        time.sleep(0.2)
    time.sleep(0.5)
    found = driver.execute_script(INSPECT)
    found["shown"] = "\n".join(found["text"] + found["tips"])
    return found


@pytest.fixture(scope="module")
def pages(planted, browser):
    """Every report and index page of both runs, opened in Chromium."""
    out = {}
    for mode, run in planted["runs"].items():
        for page in sorted(run["dir"].glob("index.html")) + sorted(
                run["dir"].glob("*/0[1-5]_*.html")):
            out[(mode, page.parent.name if page.name != "index.html" else "",
                 page.name)] = _open(browser, page)
    return out


def _who(p: Payloads, text: str) -> str:
    codes = [int(c) for c in re.findall(r"alert\((\d+)\)", text)]
    return ", ".join(p.codes.get(c, "?") for c in codes) or text


def test_no_script_from_the_data_runs_in_any_report(planted, pages):
    p = planted["payloads"]
    assert len(pages) == (1 + 10) + (1 + 15)
    for (mode, region, name), found in pages.items():
        where = f"{mode}/{region}/{name}"
        assert found["alerts"] == [], f"{where}: alerts from {[_who(p, a) for a in found['alerts']]}"
        assert found["markup"] == [], (f"{where}: markup from the data "
                                       f"{[(m, _who(p, m)) for m in found['markup'][:5]]}")


def _shown(pages, mode, name_part) -> str:
    return "\n".join(f["shown"] for (m, _, name), f in pages.items()
                     if m == mode and name_part in name)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_payloads_show_as_text_where_their_field_is_shown(planted, pages):
    p = planted["payloads"]
    territory = planted["territory"]
    for mode in ("unmasked", "masked"):
        run_id = planted["runs"][mode]["dir"].name
        for (m, region, name), found in pages.items():
            if m != mode:
                continue
            shown = _one_line(found["shown"])
            assert run_id in shown, f"{mode}/{region}/{name}: the run id is not shown as text"
            if region.startswith("x") or not region and name == "index.html":
                assert territory in shown, f"{mode}/{region}/{name}: territory name"
        everything = _one_line(_shown(pages, mode, ""))
        index = _one_line(_shown(pages, mode, "index.html"))
        assert all(t in index for t in p.planted["project"])
        prep = _one_line(_shown(pages, mode, "02_data_prep"))
        assert all(t in prep for t in p.planted["file"])  # the ledger names the file
        assert any(t[:100] in prep for t in p.planted["category"])  # the first order lines
        assert any(t[:100] in everything for t in p.planted["customer_id"])  # not masked
    # Personal data: as text when the run says so, never when masked.
    unmasked = _one_line(_shown(pages, "unmasked", ""))
    masked = _one_line(_shown(pages, "masked", ""))
    tips = "\n".join(t for (m, _, _), f in pages.items() if m == "unmasked" for t in f["tips"])
    assert all(t in tips for t in p.planted["name"])  # the customer map's tooltips
    assert all(t in tips for t in p.planted["partner"])
    # the unresolved place names (tables cut a cell at display.max_colwidth, 120)
    assert all(t[:100] in _one_line(_shown(pages, "unmasked", "02_data_prep"))
               for t in p.planted["city"])
    for field in ("name", "partner", "city", "contact", "address"):
        leaked = [t for t in p.planted[field] if t in masked]
        assert leaked == [], f"masked run shows {field}: {leaked[:2]}"
    # Sales reps' names are masked in both runs (report.show_rep_names is false) ...
    for text in p.planted["rep"]:
        assert text not in unmasked and text not in masked, f"rep name shown: {text}"
    # ... and in full (neutralised) in the exported action list.
    actions = pd.read_csv(planted["runs"]["masked"]["dir"] / "guangdong" / "actions.csv",
                          dtype=str)
    assert any(neutralise_text(t) in " ".join(actions["owner"].dropna()) or t in
               " ".join(actions["owner"].dropna()) for t in p.planted["rep"])

"""Step 2, data prep: configured exports in, canonical tables and a row ledger out.

For every input file ``rows read = kept + merged + quarantined``; a row never
disappears without a reason. Quarantined rows keep their file and line number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import geo
from helpers.config import Config, Source
from helpers.io import read_source, source_path
from helpers.schemas import validate
from helpers.scope import territory_map

INT_COLUMNS = ("headcount", "sales_staff", "tech_staff", "product_tier_count", "quantity")
FLOAT_COLUMNS = ("registered_capital", "years_active", "typical_order_value", "lat", "lon")
TABLES = ("customers", "orders", "reps", "spend")


@dataclass
class PrepResult:
    """The output of step 2: canonical tables plus the accounts of what happened."""

    customers: pd.DataFrame
    orders: pd.DataFrame
    reps: pd.DataFrame
    spend: pd.DataFrame
    ledger: pd.DataFrame
    quarantine: pd.DataFrame
    unresolved: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}


class _Ledger:
    """Collects row outcomes per file and the quarantined rows themselves."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.quarantined: list[pd.DataFrame] = []

    def add(self, table: str, source: Source, outcome: str, rows: int, reason: str = "") -> None:
        if rows:
            self.rows.append({"table": table, "source": source.name, "file": source.file,
                              "outcome": outcome, "reason": reason, "rows": int(rows)})

    def quarantine(self, table: str, source: Source, frame: pd.DataFrame, mask, reason: str):
        """Move the rows of ``frame`` where ``mask`` holds to quarantine; return the rest."""
        mask = pd.Series(mask, index=frame.index).fillna(False).astype(bool)
        bad = frame[mask]
        if len(bad):
            self.add(table, source, "quarantined", len(bad), reason)
            raw = bad.drop(columns=[c for c in bad.columns if c.startswith("_") and c != "_line"])
            self.quarantined.append(pd.DataFrame({
                "table": table, "source": source.name, "file": source.file,
                "line": bad["_line"].to_numpy(), "reason": reason,
                "values": raw.drop(columns="_line").astype("string").to_dict("records"),
            }))
        return frame[~mask]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["table", "source", "file", "outcome", "reason", "rows"])

    def quarantine_frame(self) -> pd.DataFrame:
        if not self.quarantined:
            return pd.DataFrame(columns=["table", "source", "file", "line", "reason", "values"])
        out = pd.concat(self.quarantined, ignore_index=True)
        return out.assign(values=out["values"].map(
            lambda d: json.dumps({k: v for k, v in d.items() if pd.notna(v)}, ensure_ascii=False)))


def _map_columns(raw: pd.DataFrame, source: Source, table: str) -> pd.DataFrame:
    """Rename source columns to canonical ones; keep ``_line`` and tag the source."""
    mapped = pd.DataFrame({canon: raw[col] for canon, col in source.columns.items()}, index=raw.index)
    row_hash = pd.util.hash_pandas_object(raw.drop(columns="_line"), index=False)
    return mapped.assign(_line=raw["_line"], _source=source.name, _row_hash=row_hash)


def _to_numbers(frame: pd.DataFrame, columns, ledger: _Ledger | None, table: str,
                source: Source | None, required: tuple = ()) -> tuple[pd.DataFrame, list[str]]:
    """Parse numeric columns; text in a required one quarantines the row, elsewhere it becomes NA."""
    notes = []
    for col in columns:
        if col not in frame:
            continue
        text = frame[col].str.replace(",", "", regex=False).str.replace("，", "", regex=False)
        number = pd.to_numeric(text, errors="coerce")
        bad = number.isna() & frame[col].notna()
        if col in required and ledger is not None:
            frame = ledger.quarantine(table, source, frame, bad, f"{col} is not a number")
            number = number[frame.index]
        elif bad.any():
            notes.append(f"{table}.{col}: {int(bad.sum())} value(s) are not numbers and were "
                         f"left empty (e.g. {frame.loc[bad, col].iloc[0]!r})")
        typed = number.round().astype("Int64") if col in INT_COLUMNS else number.astype("float64")
        frame = frame.assign(**{col: typed})
    return frame, notes


def _to_dates(frame: pd.DataFrame, source: Source, table: str, ledger: _Ledger,
              required: tuple = ()) -> tuple[pd.DataFrame, list[str]]:
    notes = []
    for col in [c for c in ("signup_date", "order_date") if c in frame]:
        fmt = source.dates.get(col)
        parsed = pd.to_datetime(frame[col], format=fmt, errors="coerce")
        bad = parsed.isna() & frame[col].notna()
        if col in required:
            missing = frame[col].isna()
            frame = ledger.quarantine(table, source, frame, missing, f"{col} is empty")
            frame = ledger.quarantine(table, source, frame, bad[frame.index],
                                      f"{col} does not match format {fmt or 'inferred'}")
            parsed = parsed[frame.index]
        elif bad.any():
            notes.append(f"{source.file}: {col}: {int(bad.sum())} value(s) not in format "
                         f"{fmt or 'inferred'} were left empty (e.g. {frame.loc[bad, col].iloc[0]!r})")
        frame = frame.assign(**{col: parsed.astype("datetime64[ns]")})
    return frame, notes


def _read_table(config: Config, table: str, ledger: _Ledger, notes: list[str]) -> pd.DataFrame:
    """Read, map and stack the sources of one table; drop exact duplicate rows (merged)."""
    parts = []
    for source in config.sources.get(table, []):
        raw = read_source(source, config.data_dir)
        ledger.add(table, source, "read", len(raw))
        frame = _map_columns(raw, source, table)
        dup = frame.duplicated("_row_hash", keep="first")
        if dup.any():
            ledger.add(table, source, "merged", int(dup.sum()), "exact duplicate row")
            frame = frame[~dup]
        frame = frame.drop(columns="_row_hash")
        key = {"customers": "customer_id", "orders": "order_id", "reps": "sales_rep_id",
               "spend": "region"}[table]
        if key in frame:
            frame = ledger.quarantine(table, source, frame, frame[key].isna(), f"{key} is empty")
        required = ("order_date",) if table == "orders" else ()
        frame, date_notes = _to_dates(frame, source, table, ledger, required)
        numeric_required = ("amount",) if table in ("orders", "spend") else ()
        frame, num_notes = _to_numbers(frame, INT_COLUMNS + FLOAT_COLUMNS + ("amount",),
                                       ledger, table, source, numeric_required)
        if "amount" in frame and table in ("orders", "spend"):
            frame = ledger.quarantine(table, source, frame, frame["amount"].isna(),
                                      "amount is empty")
        notes += date_notes + num_notes
        parts.append(frame)
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


def _merge_customers(frame: pd.DataFrame, config: Config, ledger: _Ledger) -> pd.DataFrame:
    """One row per customer: rows sharing the key are merged, first non-empty value wins."""
    sources = {s.name: s for s in config.sources["customers"]}
    frame = frame.assign(customer_id=frame["customer_id"].str.strip())
    repeated = frame.duplicated("customer_id", keep="first")
    for name, count in frame.loc[repeated, "_source"].value_counts().items():
        ledger.add("customers", sources[name], "merged", int(count),
                   "same customer_id as an earlier row (values combined)")
    grouped = frame.groupby("customer_id", sort=False)
    merged = grouped.first()  # first non-null value per column, in source order
    merged["source"] = grouped["_source"].agg(lambda s: "+".join(dict.fromkeys(s)))
    merged["_line"] = grouped["_line"].first()
    return merged.reset_index()


def _locate(customers: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Resolve provinces and cities, attach territories and WGS-84 coordinates."""
    notes = []
    if "province" not in customers:
        customers = customers.assign(province=pd.NA)
    if "city" not in customers:
        customers = customers.assign(city=pd.NA)
    raw_province, raw_city = customers["province"], customers["city"]
    provinces = geo.resolve_provinces(raw_province.astype("string"))
    located = customers.assign(province=provinces["province"],
                               province_code=provinces["province_code"],
                               province_en=provinces["province_en"])
    cities = geo.resolve_cities(located.assign(city=raw_city), city="city", province="province")
    # A city alone can name its province (深圳 -> 广东省) when the province was empty.
    city_table = geo.cities().drop_duplicates("city_code").set_index("city_code")
    fill = located["province"].isna() & cities["city"].notna()
    if fill.any():
        located.loc[fill, "province"] = cities.loc[fill, "city_code"].map(city_table["province"])
        codes = geo.provinces().set_index("province")
        located.loc[fill, "province_code"] = located.loc[fill, "province"].map(codes["province_code"])
        located.loc[fill, "province_en"] = located.loc[fill, "province"].map(codes["province_en"])
    located = located.assign(city=cities["city"], city_code=cities["city_code"])

    unresolved = pd.concat([
        pd.DataFrame({"column": "province", "value": raw_province[provinces["province"].isna()
                                                                 & raw_province.notna()]}),
        pd.DataFrame({"column": "city", "value": raw_city[cities["city_match"].isin(
            ["unresolved", "ambiguous"])]}),
    ]).value_counts().rename("rows").reset_index()

    territories = territory_map(config).set_index("province")["territory"]
    located = located.assign(territory=located["province"].map(territories).astype("string"))

    lat = located["lat"] if "lat" in located else pd.Series(np.nan, index=located.index)
    lon = located["lon"] if "lon" in located else pd.Series(np.nan, index=located.index)
    # Inside China's bounding box; swapped pairs are recognised and turned round.
    def inside(la, lo):
        return la.between(3.5, 54) & lo.between(73, 136)
    swapped = ~inside(lat, lon) & inside(lon, lat)
    if swapped.any():
        notes.append(f"customers: {int(swapped.sum())} lat/lon pair(s) were swapped and turned round")
        lat, lon = lat.where(~swapped, lon), lon.where(~swapped, lat)
    outside = lat.notna() & ~inside(lat, lon)
    if outside.any():
        notes.append(f"customers: {int(outside.sum())} coordinate(s) outside China were "
                     "ignored (city or province centroid used instead)")
    lat, lon = lat.where(~outside), lon.where(~outside)
    if config.geography.coordinates != "wgs84" and lat.notna().any():
        raise NotImplementedError(
            f"{config.config_path}: geography.coordinates = {config.geography.coordinates}: "
            "conversion to WGS-84 is not implemented yet; use wgs84")
    prov_points = geo.provinces().set_index("province")
    has_point = lat.notna() & lon.notna()
    has_city = ~has_point & cities["city_lat"].notna()
    has_prov = ~has_point & ~has_city & located["province"].notna()
    precision = np.select([has_point, has_city, has_prov], ["point", "city", "province"], "none")
    lat = lat.where(has_point, cities["city_lat"]).where(
        has_point | has_city, located["province"].map(prov_points["lat"]))
    lon = lon.where(has_point, cities["city_lon"]).where(
        has_point | has_city, located["province"].map(prov_points["lon"]))
    located = located.assign(lat=lat.astype("float64"), lon=lon.astype("float64"),
                             geo_precision=pd.Series(precision, index=located.index, dtype="string"))
    return located, unresolved, notes


def _prepare_orders(orders: pd.DataFrame, customers: pd.DataFrame, config: Config,
                    ledger: _Ledger) -> pd.DataFrame:
    sources = {s.name: s for s in config.sources["orders"]}
    kept = []
    for name, part in orders.groupby("_source", sort=False):
        source = sources[name]
        part = part.assign(customer_id=part["customer_id"].str.strip())
        if source.keep_status is not None and "status" in part:
            drop = ~part["status"].isin(source.keep_status)
            for status, rows in part[drop].groupby(part.loc[drop, "status"].fillna("(empty)")):
                part = ledger.quarantine("orders", source, part, part.index.isin(rows.index),
                                         f"status {status!r} not in keep_status")
        part = ledger.quarantine("orders", source, part,
                                 ~part["customer_id"].isin(customers["customer_id"]),
                                 "unknown customer_id")
        today = pd.Timestamp.today().normalize()
        part = ledger.quarantine("orders", source, part, part["order_date"] > today,
                                 "order_date in the future")
        kept.append(part)
        ledger.add("orders", source, "kept", len(part))
    orders = pd.concat(kept, ignore_index=True)
    where = customers.set_index("customer_id")[["province", "territory"]]
    return orders.assign(province=orders["customer_id"].map(where["province"]),
                         territory=orders["customer_id"].map(where["territory"]))


def _prepare_spend(spend: pd.DataFrame, config: Config, ledger: _Ledger) -> pd.DataFrame:
    if spend.empty:
        return pd.DataFrame({"province": pd.Series(dtype="string"),
                             "period": pd.Series(dtype="string"), "amount": pd.Series(dtype="float64")})
    sources = {s.name: s for s in config.sources["spend"]}
    parts = []
    for name, part in spend.groupby("_source", sort=False):
        source = sources[name]
        province = geo.resolve_provinces(part["region"].astype("string"))["province"]
        part = part.assign(province=province)
        part = ledger.quarantine("spend", source, part, part["province"].isna(), "unknown province")
        period = part["period"].str.upper().str.replace(r"[\s\-_]", "", regex=True)
        part = part.assign(period=period)
        part = ledger.quarantine("spend", source, part, ~period.str.match(r"^\d{4}Q[1-4]$"),
                                 "period is not a quarter like 2024Q1")
        part = ledger.quarantine("spend", source, part, part["amount"] < 0, "amount is negative")
        ledger.add("spend", source, "kept", len(part))
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop bookkeeping columns, use nullable strings for text."""
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_")]).reset_index(drop=True)
    text = frame.select_dtypes(include=["object", "string"]).columns
    return frame.astype({c: "string" for c in text})


def check_ledger(ledger: pd.DataFrame) -> pd.DataFrame:
    """Per file: read, kept, merged, quarantined and whether they balance.

    Raises
    ------
    AssertionError
        When a file's rows read differ from kept + merged + quarantined.
    """
    totals = ledger.pivot_table(index=["table", "source", "file"], columns="outcome",
                                values="rows", aggfunc="sum", fill_value=0)
    for col in ("read", "kept", "merged", "quarantined"):
        if col not in totals:
            totals[col] = 0
    totals = totals[["read", "kept", "merged", "quarantined"]].reset_index()
    totals["balanced"] = totals["read"] == totals["kept"] + totals["merged"] + totals["quarantined"]
    if not totals["balanced"].all():
        bad = totals[~totals["balanced"]].to_string(index=False)
        raise AssertionError(f"row ledger does not balance:\n{bad}")
    return totals


def build_prep(config: Config) -> PrepResult:
    """Run step 2 on the configured sources and return the canonical tables.

    Raises :class:`helpers.io.SourceError` for unreadable inputs and
    :class:`helpers.schemas.ValidationFailed` listing every schema problem.
    """
    ledger, notes = _Ledger(), []
    raw_customers = _read_table(config, "customers", ledger, notes)
    customers = _merge_customers(raw_customers, config, ledger)
    for name, count in customers["source"].str.split("+").str[0].value_counts().items():
        source = next(s for s in config.sources["customers"] if s.name == name)
        ledger.add("customers", source, "kept", int(count))
    customers, unresolved, geo_notes = _locate(customers, config)
    notes += geo_notes
    orders = _prepare_orders(_read_table(config, "orders", ledger, notes), customers, config, ledger)
    reps = _read_table(config, "reps", ledger, notes)
    if not reps.empty:
        dup = reps.duplicated("sales_rep_id")
        for name, count in reps.loc[dup, "_source"].value_counts().items():
            source = next(s for s in config.sources["reps"] if s.name == name)
            ledger.add("reps", source, "merged", int(count), "same sales_rep_id as an earlier row")
        reps = reps[~dup]
        for name, count in reps["_source"].value_counts().items():
            source = next(s for s in config.sources["reps"] if s.name == name)
            ledger.add("reps", source, "kept", int(count))
    else:
        reps = pd.DataFrame({"sales_rep_id": pd.Series(dtype="string")})
    spend = _prepare_spend(_read_table(config, "spend", ledger, notes), config, ledger)

    result = PrepResult(
        customers=validate("customers", _finish(customers)),
        orders=validate("orders", _finish(orders)),
        reps=validate("reps", _finish(reps)),
        spend=validate("spend", _finish(spend.drop(columns=["region"], errors="ignore"))),
        ledger=ledger.frame(),
        quarantine=ledger.quarantine_frame(),
        unresolved=unresolved,
        notes=notes,
    )
    check_ledger(result.ledger)
    return result


def input_files(config: Config) -> list[Path]:
    """Every configured source file, in config order."""
    return [source_path(s, config.data_dir) for sources in config.sources.values() for s in sources]


def save_prep(result: PrepResult, folder: Path, fingerprint: dict) -> None:
    """Write the tables as Parquet, the ledger and quarantine as CSV, a summary as JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in result.tables().items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    result.ledger.to_csv(folder / "ledger.csv", index=False)
    result.quarantine.to_csv(folder / "quarantine.csv", index=False)
    result.unresolved.to_csv(folder / "unresolved.csv", index=False)
    summary = {"fingerprint": fingerprint, "notes": result.notes,
               "rows": {name: len(t) for name, t in result.tables().items()}}
    (folder / "prep.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), "utf-8")


def load_prep(folder: Path) -> PrepResult:
    """Read what :func:`save_prep` wrote."""
    summary = json.loads((folder / "prep.json").read_text("utf-8"))
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    read = {name: pd.read_csv(folder / f"{name}.csv", dtype={"rows": "int64", "line": "Int64"})
            for name in ("ledger", "quarantine", "unresolved")}
    return PrepResult(**tables, **read, notes=summary["notes"])

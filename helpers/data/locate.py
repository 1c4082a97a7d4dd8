"""Where customers are: place names resolved to regions, territories and WGS-84 points.

Each customer gets its country, province, city and district as canonical records
(names, English names, codes), its territory, and a point: its own coordinates
(turned round when swapped, converted from GCJ-02 or BD-09, ignored when outside
the country), else the centroid of the finest region resolved, with
``geo_precision`` saying which. Customers without a location may take the ship-to
of their orders (:func:`location_from_orders`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers import geo
from helpers.config import Config
from helpers.data.clean import map_distinct
from helpers.geo.territories import territory_map

LOCATION = ("country", "province", "city", "district", "address", "lat", "lon")


def location_from_orders(customers: pd.DataFrame, orders: pd.DataFrame, rule: str,
                         notes: list[str]) -> pd.DataFrame:
    """Give customers without a location the ship-to of their orders (most frequent,
    latest or first; ties go to the latest order, then to the alphabetically first place)."""
    ship = [c for c in LOCATION if c in orders]
    bare = bare_customers(customers, rule, ship, orders.empty)
    if bare is None:
        return customers
    usable = orders["_rq"].to_numpy() == 0 if "_rq" in orders else np.ones(len(orders), bool)
    rows = orders.loc[usable & orders["customer_id"].isin(customers.loc[bare, "customer_id"]),
                      ["customer_id", "order_date", "_line", *ship]]
    rows = rows[rows[ship].notna().any(axis=1)]
    if rows.empty:
        return customers
    return fill_location(customers, bare, choose_ship_to(rows, ship, rule), rule, notes)


def bare_customers(customers: pd.DataFrame, rule: str, ship: list[str],
                   no_orders: bool) -> pd.Series | None:
    """Which customers have no location of their own (None: the rule has nothing to do)."""
    if rule == "none" or not ship or no_orders:
        return None
    own = [c for c in LOCATION if c in customers]
    bare = customers[own].isna().all(axis=1) if own else pd.Series(True, index=customers.index)
    return bare if bare.any() else None


def choose_ship_to(rows: pd.DataFrame, ship: list[str], rule: str) -> pd.DataFrame:
    """Per customer, the ship-to ``rule`` picks among its usable order ``rows`` (in file
    order: customer_id, order_date, _line and the ``ship`` columns), indexed by customer_id.
    ``helpers.data.engine`` picks the same in SQL (tests compare them)."""
    place = rows[ship].astype("string").fillna("").agg("|".join, axis=1)
    rows = rows.assign(_place=place)
    if rule == "most_frequent":
        stats = rows.groupby(["customer_id", "_place"], sort=False).agg(
            _n=("_line", "size"), _last=("order_date", "max")).reset_index()
        stats = stats.sort_values(["customer_id", "_n", "_last", "_place"],
                                  ascending=[True, False, False, True])
        best = stats.drop_duplicates("customer_id")[["customer_id", "_place"]]
        chosen = best.merge(rows.drop_duplicates(["customer_id", "_place"]),
                            on=["customer_id", "_place"], how="left")
    else:
        ascending = rule == "first"
        chosen = rows.sort_values(["customer_id", "order_date", "_line", "_place"],
                                  ascending=[True, ascending, ascending, True]).drop_duplicates(
            "customer_id")
    return chosen.set_index("customer_id")[ship]


def fill_location(customers: pd.DataFrame, bare: pd.Series, chosen: pd.DataFrame, rule: str,
                  notes: list[str]) -> pd.DataFrame:
    """``customers`` with the ``bare`` ones given their ``chosen`` ship-to."""
    filled = customers.copy()
    target = filled["customer_id"].where(bare)
    for col in chosen.columns:
        values = target.map(chosen[col])
        if col in filled:
            filled[col] = filled[col].where(~bare, values)
        else:
            filled[col] = values.where(bare)
    notes.append(f"customers: {int(target.isin(chosen.index).sum())} customer(s) without a "
                 f"location took the {rule.replace('_', ' ')} ship-to of their orders")
    return filled


def locate(customers: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Resolve places, attach territories and WGS-84 coordinates with their precision."""
    country = config.geography.country
    notes: list[str] = []
    frame = customers.copy()
    for col in ("province", "city", "district", "address"):
        if col not in frame:
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
    raw_province, raw_city = frame["province"].astype("string"), frame["city"].astype("string")
    unresolved_parts = []

    world = country == geo.WORLD
    # A world market's regions are the countries: from the country column, else from the
    # province column (an export whose region column holds countries).
    raw_region = (frame["country"].astype("string") if world and "country" in frame
                  else raw_province)
    if "country" in frame:
        countries = geo.resolve_countries(frame["country"])
        frame["country"] = countries["country"] if world else countries["country"].fillna(country)
        abroad = countries["country"].notna() & (countries["country"] != country) & (not world)
        if not world:  # a world market lists them once, as regions, below
            unresolved_parts.append(pd.DataFrame({"column": "country", "value": frame.loc[
                countries["country_match"] == "unresolved", "country"]}))
    else:
        frame["country"] = pd.NA if world else country
        abroad = pd.Series(False, index=frame.index)
    frame["country"] = frame["country"].astype("string")

    provinces = geo.resolve_provinces(raw_region, country)
    provinces.loc[abroad] = pd.NA
    frame = frame.assign(province=provinces["province"], province_code=provinces["province_code"],
                         province_en=provinces["province_en"])
    if world:
        frame["country"] = frame["country"].fillna(provinces["province_code"]).astype("string")
    unresolved_parts.append(pd.DataFrame({
        "column": "country" if world and "country" in customers else "province",
        "value": raw_region[(provinces["province_match"] == "unresolved") & ~abroad]}))

    lat_c = pd.Series(np.nan, index=frame.index)
    lon_c = pd.Series(np.nan, index=frame.index)
    level = pd.Series("none", index=frame.index, dtype=object)
    if country == "CN":
        frame, lat_c, lon_c, level, city_bad = _locate_china(frame, raw_city, abroad)
        unresolved_parts.append(pd.DataFrame({"column": "city", "value": raw_city[city_bad]}))
    else:
        frame = frame.assign(city=_tidy_city(raw_city), city_code=pd.NA)
        if not world and frame["city"].notna().any():
            # Cities at their town (geonames, 1,000 people or more) in their state.
            towns = geo.world.locate_cities(frame["city"], frame["province"], country)
            has_town = towns["lat"].notna() & ~abroad
            lat_c = lat_c.where(~has_town, towns["lat"])
            lon_c = lon_c.where(~has_town, towns["lon"])
            level = level.where(~has_town, "city")
            # Not listed as unresolved: a town under 1,000 people is no error in the data.
            missed = (towns["city_match"] == "unresolved") & ~abroad
            notes.append(f"customers: {int(has_town.sum())} city name(s) found among the "
                         "towns of 1,000 people or more (geonames): those without coordinates "
                         f"of their own sit at their town; {int(missed.sum())} not found there "
                         "sit at their state's centre")
    prov_points = geo.provinces(country).set_index("province")
    has_prov = (level == "none") & frame["province"].notna()
    lat_c = lat_c.where(~has_prov, frame["province"].map(prov_points["lat"]))
    lon_c = lon_c.where(~has_prov, frame["province"].map(prov_points["lon"]))
    level = level.where(~has_prov, "country" if world else "province")
    cpoints = geo.world.country_points()
    has_country = (level == "none") & frame["country"].notna() & frame["country"].isin(
        cpoints.index) & (abroad | (country != "CN"))
    lat_c = lat_c.where(~has_country, frame["country"].map(cpoints["lat"]))
    lon_c = lon_c.where(~has_country, frame["country"].map(cpoints["lon"]))
    level = level.where(~has_country, "country")

    unresolved = pd.concat(unresolved_parts, ignore_index=True).dropna()
    unresolved = unresolved.value_counts().rename("rows").reset_index()
    if len(unresolved):
        # Cities are looked up in China's gazetteer (outside China they are not listed).
        nearest = [", ".join(geo.nearest_names(v, "CN" if c == "city" else country))
                   if c != "country" or world else ""
                   for c, v in zip(unresolved["column"], unresolved["value"], strict=True)]
        unresolved = unresolved.assign(nearest=nearest)
    else:
        unresolved = pd.DataFrame(columns=["column", "value", "rows", "nearest"])

    territories = territory_map(config).set_index("province")["territory"]
    frame = frame.assign(territory=frame["province"].map(territories).astype("string"))
    lat, lon, flag, point_notes = _points(frame, config, abroad)
    notes += point_notes
    has_point = lat.notna() & lon.notna()
    precision = pd.Series(np.where(has_point, "point", level), index=frame.index)
    frame = frame.assign(
        lat=lat.where(has_point, lat_c).astype("float64"),
        lon=lon.where(has_point, lon_c).astype("float64"),
        geo_precision=precision.astype("string"),
        geo_flag=flag.astype("string"),
    )
    return frame, unresolved, notes


def _tidy_city(raw: pd.Series) -> pd.Series:
    """Outside China: one spelling per city (the most common of those equal without
    accents, case, hyphens and double spaces), title case kept as exported."""
    key = map_distinct(raw, lambda v: pd.Series([geo.world.fold(x) for x in v]))
    counts = pd.DataFrame({"key": key, "raw": raw.str.strip().str.replace(r"\s+", " ", regex=True)})
    counts = counts.dropna().value_counts().reset_index()
    best = counts.sort_values(["key", "count", "raw"], ascending=[True, False, True]).drop_duplicates(
        "key").set_index("key")["raw"]
    return key.map(best).astype("string")


def _locate_china(frame, raw_city, abroad):
    cities = geo.resolve_cities(frame.assign(city=raw_city), city="city", province="province")
    # A city alone can name its province (深圳 -> 广东省) when the province was empty.
    city_table = geo.cities().drop_duplicates("city_code").set_index("city_code")
    codes = geo.provinces().set_index("province")
    fill = frame["province"].isna() & cities["city"].notna() & ~abroad
    if fill.any():
        frame.loc[fill, "province"] = cities.loc[fill, "city_code"].map(city_table["province"])
        frame.loc[fill, "province_code"] = frame.loc[fill, "province"].map(codes["province_code"])
        frame.loc[fill, "province_en"] = frame.loc[fill, "province"].map(codes["province_en"])
    district = cities["district"]
    district_code = cities["district_code"]
    lat_c = cities["district_lat"].fillna(cities["city_lat"])
    lon_c = cities["district_lon"].fillna(cities["city_lon"])
    level = pd.Series(np.where(cities["district_lat"].notna(), "district",
                               np.where(cities["city_lat"].notna(), "city", "none")),
                      index=frame.index, dtype=object)
    city, city_code = cities["city"], cities["city_code"]
    city_match = cities["city_match"]
    del cities  # its columns taken: the rest goes (5.6M customers at 100M order lines)
    # A district column, or the address when the columns left the city open, is parsed
    # (each distinct text once) to place the customer more finely.
    if frame["address"].notna().any() or frame["district"].notna().any():
        text = frame["district"].astype("string").fillna("")
        context = frame["province"].astype("string").fillna("") + city.astype("string").fillna("")
        address = frame["address"].astype("string")
        by_district = (text != "") & (level != "district")
        by_address = address.notna() & (level == "none") & ~by_district
        query = (context + text).where(by_district, address.where(by_address))
        query = query.mask(query.fillna("") == "")
        del text, context, address
        places = geo.resolve_places(query)
        del query
        agree = places["province"].notna() & (frame["province"].isna() | (
            places["province"] == frame["province"])) & (city.isna() | (
                places["city"] == city)) & ~abroad
        finer = agree & (
            (places["district"].notna() & (level != "district"))
            | (places["city"].notna() & (level == "none")))
        if finer.any():
            for col in ("province", "province_code"):
                frame.loc[finer, col] = places.loc[finer, col]
            frame.loc[finer, "province_en"] = frame.loc[finer, "province"].map(codes["province_en"])
            city = city.where(~finer, places["city"])
            city_code = city_code.where(~finer, places["city_code"])
            district = district.where(~finer, places["district"])
            district_code = district_code.where(~finer, places["district_code"])
            lat_c = lat_c.where(~finer, places["lat"])
            lon_c = lon_c.where(~finer, places["lon"])
            level = level.where(~finer, np.where(
                places["district"].notna(), "district", "city")).where(lat_c.notna(), "none")
        del places
    frame = frame.assign(city=city.astype("string"), city_code=city_code.astype("string"),
                         district=district.astype("string"),
                         district_code=district_code.astype("string"))
    city_bad = city_match.isin(["unresolved", "ambiguous"]) & frame["city"].isna()
    return frame, lat_c, lon_c, level, city_bad


def _points(frame: pd.DataFrame, config: Config, abroad: pd.Series):
    """Own coordinates in WGS-84, or NaN; with a flag and notes on what was fixed."""
    notes = []
    lat = frame["lat"].astype("float64") if "lat" in frame else pd.Series(np.nan, index=frame.index)
    lon = frame["lon"].astype("float64") if "lon" in frame else pd.Series(np.nan, index=frame.index)
    flag = pd.Series(pd.NA, index=frame.index, dtype="string")
    given = lat.notna() & lon.notna()
    if not given.any():
        return lat, lon, flag, notes
    country = config.geography.country
    parts = geo.world.CHINA_PARTS if country == "CN" else (country,)
    system = config.geography.coordinates
    out_of_range = given & ~(lat.between(-90, 90) & lon.between(-180, 180))

    def inside(la, lo):
        if country == geo.WORLD:  # anywhere on earth is in a world market
            return la.between(-90, 90) & lo.between(-180, 180)
        if system != "wgs84" and country == "CN":
            index = la.index
            la, lo = geo.coords.to_wgs84(la, lo, system)
            la, lo = pd.Series(la, index=index), pd.Series(lo, index=index)
        return geo.inside_country(la, lo, parts)

    home = inside(lat, lon) & given & ~abroad
    maybe = given & ~home & ~abroad
    swapped = pd.Series(False, index=frame.index)
    if maybe.any():
        swapped[maybe] = inside(lon[maybe], lat[maybe]).to_numpy()
    if swapped.any():
        notes.append(f"customers: {int(swapped.sum())} lat/lon pair(s) were swapped and turned round")
        lat, lon = lat.where(~swapped, lon), lon.where(~swapped, lat)
        flag = flag.mask(swapped, "swapped")
        out_of_range = out_of_range & ~swapped
    if system != "wgs84":
        wlat, wlon = geo.coords.to_wgs84(lat.to_numpy(), lon.to_numpy(), system)
        lat, lon = pd.Series(wlat, index=frame.index), pd.Series(wlon, index=frame.index)
        notes.append(f"customers: {int(given.sum())} coordinate pair(s) converted from "
                     f"{system} to WGS-84")
    outside = given & ~home & ~swapped & ~out_of_range & ~abroad
    if out_of_range.any():
        notes.append(f"customers: {int(out_of_range.sum())} coordinate(s) out of range "
                     "(|lat| > 90 or |lon| > 180) were ignored")
    if outside.any():
        notes.append(f"customers: {int(outside.sum())} coordinate(s) outside {country} were "
                     "ignored (the centroid of the finest region resolved is used instead)")
    flag = flag.mask(out_of_range, "out_of_range").mask(outside, "outside_country")
    drop = out_of_range | outside
    return lat.where(~drop), lon.where(~drop), flag, notes

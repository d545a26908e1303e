"""Authorities and their codes, county assembly from districts, and display geometry.

Pure functions over DataFrames (no file I/O). The 153 education authorities are England's
current upper-tier authorities: unitary (E06), metropolitan (E08), London boroughs (E09, with the
City of London) and counties (E10, assembled from their districts' LSOAs, since no county file
exists). Codes a user or an older file may use (retired ONS codes, districts, DfE 3-digit
numbers) map to current authorities through the ``authority_codes`` table built by
:func:`build_authority_codes` and read by :func:`current_authority_codes`.

CRS: analysis geometry is EPSG:27700 (British National Grid, metres); display geometry is
EPSG:4326 (longitude/latitude degrees) rounded to 5 decimals (about 1 m).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlaskit.errors import AtlasError, DataFormatError, UnknownAuthority

__all__ = [
    "AUTHORITY_TYPES",
    "RETIRED_LA_NUMBERS",
    "SPLIT_AUTHORITIES",
    "authority_type",
    "is_education_authority_code",
    "build_authority_codes",
    "current_authority_codes",
    "suggest_authorities",
    "authorities_from_lsoas",
    "clean_coverage",
    "dissolve_coverage",
    "simplify_for_display",
    "la_population_by_authority",
]

#: Authority type by the first three characters of its ONS code.
AUTHORITY_TYPES: dict[str, str] = {"E06": "unitary", "E08": "metropolitan", "E09": "london", "E10": "county"}

#: Retired upper-tier codes whose area went to more than one current authority, in order of the
#: share of area/population taken (main successor first), with a note for each row.
SPLIT_AUTHORITIES: dict[str, list[tuple[str, str]]] = {
    "E10000021": [
        ("E06000061", "Northamptonshire (county to 2021) split: North Northamptonshire took Corby, East Northamptonshire, Kettering, Wellingborough"),
        ("E06000062", "Northamptonshire (county to 2021) split: West Northamptonshire took Daventry, Northampton, South Northamptonshire"),
    ],
    "E10000006": [
        ("E06000063", "Cumbria (county to 2023) split: Cumberland took Allerdale, Carlisle, Copeland"),
        ("E06000064", "Cumbria (county to 2023) split: Westmorland and Furness took Barrow-in-Furness, Eden, South Lakeland"),
    ],
    "E10000009": [
        ("E06000059", "Dorset (county to 2019): main successor Dorset; its Christchurch district went to BCP"),
        ("E06000058", "Dorset (county to 2019): Christchurch district only, now in Bournemouth, Christchurch and Poole"),
    ],
}

#: DfE 3-digit LA numbers no longer in use (or kept while the ONS code changed), with the current
#: authorities covering their area. Numbers still in use come from the scorecard.
RETIRED_LA_NUMBERS: dict[str, list[tuple[str, str]]] = {
    "835": [
        ("E06000059", "DfE 835 Dorset (county, to 2019): now 838 Dorset; Christchurch moved to BCP (839)"),
        ("E06000058", "DfE 835 Dorset (county, to 2019): Christchurch only, now in 839 BCP"),
    ],
    "836": [("E06000058", "DfE 836 Poole (to 2019): now part of 839 Bournemouth, Christchurch and Poole")],
    "837": [("E06000058", "DfE 837 Bournemouth (to 2019): now part of 839 Bournemouth, Christchurch and Poole")],
    "928": [
        ("E06000061", "DfE 928 Northamptonshire (to 2021) split: 940 North Northamptonshire"),
        ("E06000062", "DfE 928 Northamptonshire (to 2021) split: 941 West Northamptonshire"),
    ],
    "909": [
        ("E06000063", "DfE 909 Cumbria (to 2023) split: 942 Cumberland"),
        ("E06000064", "DfE 909 Cumbria (to 2023) split: 943 Westmorland and Furness"),
    ],
}

#: Numbers that stayed while the ONS code changed (noted on their ``la_number`` rows).
_KEPT_NUMBERS = {
    "825": "Buckinghamshire kept DfE 825 when county E10000002 became unitary E06000060 (2020)",
    "815": "North Yorkshire kept DfE 815 when county E10000023 became unitary E06000065 (2023)",
    "933": "Somerset kept DfE 933 when county E10000027 became unitary E06000066 (2023)",
}


def authority_type(code: str) -> str:
    """Return ``unitary``, ``metropolitan``, ``london`` or ``county`` for a current authority code.

    Raises:
        UnknownAuthority: the code is not an E06/E08/E09/E10 code.
    """
    try:
        return AUTHORITY_TYPES[str(code)[:3]]
    except KeyError:
        raise UnknownAuthority(f"{code!r} is not an education authority code (E06, E08, E09 or E10 followed by 6 digits)") from None


def is_education_authority_code(codes: pd.Series) -> pd.Series:
    """Return a boolean mask: codes shaped like an E06/E08/E09/E10 authority code."""
    return codes.astype("string").str.fullmatch(r"E(06|08|09|10)\d{6}").fillna(False).astype(bool)


def build_authority_codes(
    authorities: pd.DataFrame,
    districts: pd.DataFrame,
    la_codes: pd.DataFrame,
    changes: pd.DataFrame,
    la_numbers: pd.DataFrame,
) -> pd.DataFrame:
    """Build the table mapping every code a user or old file may use to current authority codes.

    Args:
        authorities: the current authorities (column authority_code).
        districts: current lower-tier districts (district_code, authority_code; district_name
            used in notes when present).
        la_codes: all district codes since 2018 (:func:`atlaskit.sources.geography.read_la_codes`:
            district_code, district_name, authority_code of the current authority, is_current).
        changes: code changes (:func:`atlaskit.sources.geography.read_authority_changes`).
        la_numbers: DfE numbers with the ONS code published beside them (la_number, ons_code, la_name).

    Returns:
        DataFrame with code (text), authority_code (current), kind (``current``, ``district``,
        ``retired``, ``la_number``), note. A code maps to one authority, except a retired code
        whose area split (Northamptonshire E10000021 / DfE 928, Cumbria E10000006 / 909, Dorset
        county E10000009 / 835): it has one row per successor, the main successor first.

    Raises:
        DataFormatError: a code maps to an authority that is not current, or a DfE number's code
            cannot be mapped.
    """
    current = set(authorities["authority_code"])
    rows: list[tuple[str, str, str, str]] = [(c, c, "current", "") for c in sorted(current)]
    seen = set(current)

    for row in districts.sort_values("district_code").itertuples(index=False):
        if row.district_code not in seen:
            name = f" {row.district_name}" if "district_name" in districts.columns else ""
            rows.append((row.district_code, row.authority_code, "district", f"lower-tier district{name} of county {row.authority_code}"))
            seen.add(row.district_code)

    english = la_codes[la_codes["district_code"].str.startswith("E")]
    district_to_authority = dict(zip(english["district_code"], english["authority_code"]))
    for row in english.sort_values("district_code").itertuples(index=False):
        if row.district_code in seen:
            continue
        note = f"retired district code {row.district_code} {row.district_name}"
        if row.active_district_code != row.district_code:
            note += f": now {row.active_district_code} {row.active_district_name}"
        rows.append((row.district_code, row.authority_code, "retired", note))
        seen.add(row.district_code)

    def resolve_new(code: str) -> str | None:
        if code in current:
            return code
        return district_to_authority.get(code)

    def known_successors(code: str, successors: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The built-in successors of a retired code; none when the area is not in the data (a subset)."""
        present = [a for a, _ in successors if a in current]
        if present and len(present) < len(successors):
            raise DataFormatError(f"{code} split between {', '.join(a for a, _ in successors)}, but only {', '.join(present)} are current authorities")
        return successors if present else []

    for old_code, successors in SPLIT_AUTHORITIES.items():
        for authority_code, note in known_successors(old_code, successors):
            rows.append((old_code, authority_code, "retired", note))
        seen.add(old_code)
    eng_changes = changes[changes["old_code"].str.match(r"E(06|07|08|09|10)")]
    for row in eng_changes.sort_values(["year", "old_code"]).itertuples(index=False):
        if row.old_code in seen:
            continue
        if row.change_type == "termination":
            successors = sorted({t for t in (resolve_new(c) for c in _termination_successors(row.old_name, row.year, changes)) if t})
            if not successors:
                raise DataFormatError(f"authority_changes: cannot find the successor of abolished {row.old_code} {row.old_name} ({row.year})")
            note = f"{row.old_name} ({row.old_code}) abolished {row.year}: now {', '.join(successors)}"
            for authority_code in successors:
                rows.append((row.old_code, authority_code, "retired", note))
        elif row.change_type in {"merger", "new_code"}:
            target = resolve_new(row.new_code) if isinstance(row.new_code, str) else None
            if target is None:
                continue  # a non-English or combined-authority change
            rows.append((row.old_code, target, "retired", f"{row.old_name} ({row.old_code}) {row.change_type} {row.year} into {row.new_code} {row.new_name}"))
        else:
            continue
        seen.add(row.old_code)

    code_to_current = {code: authority for code, authority, _, _ in rows}
    for row in la_numbers.sort_values("la_number").itertuples(index=False):
        if row.la_number in RETIRED_LA_NUMBERS:
            continue
        target = code_to_current.get(row.ons_code)
        if target is None:
            raise DataFormatError(f"DfE LA number {row.la_number} ({row.la_name}) is published with code {row.ons_code}, which maps to no current authority")
        note = f"DfE {row.la_number} {row.la_name}"
        if row.ons_code != target:
            note += f" (published with retired code {row.ons_code})"
        note = _KEPT_NUMBERS.get(row.la_number, note)
        rows.append((row.la_number, target, "la_number", note))
    for number, successors in RETIRED_LA_NUMBERS.items():
        for authority_code, note in known_successors(number, successors):
            rows.append((number, authority_code, "la_number", note))

    table = pd.DataFrame(rows, columns=["code", "authority_code", "kind", "note"]).astype("string")
    stale = ~table["authority_code"].isin(current)
    if stale.any():
        bad = table[stale].head(5)
        raise DataFormatError("codes mapped to authorities that are not current: " + ", ".join(f"{c}->{a}" for c, a in zip(bad["code"], bad["authority_code"])))
    return table.drop_duplicates(["code", "authority_code"]).reset_index(drop=True)


def _termination_successors(old_name: str, year: int, changes: pd.DataFrame) -> set[str]:
    """Return the codes that absorbed an abolished county: same-year mergers into an area named like it.

    Buckinghamshire, North Yorkshire and Somerset each became one unitary of the same name;
    counties that split (:data:`SPLIT_AUTHORITIES`) are handled before this is called.
    """
    mergers = changes[(changes["year"] == year) & (changes["change_type"] == "merger")]
    named = mergers["new_name"].fillna("").str.contains(old_name, regex=False)
    return set(mergers.loc[named, "new_code"].dropna())


def current_authority_codes(code: str, authority_codes: pd.DataFrame, authorities: pd.DataFrame | None = None) -> list[str]:
    """Return the current authority code(s) for any ONS code or DfE 3-digit LA number.

    Args:
        code: a current or retired ONS code (``E10000021``), a district code (``E07000105``), a
            DfE number (``"886"`` or 886); spaces and case are ignored.
        authority_codes: the ``authority_codes`` table (:func:`build_authority_codes`).
        authorities: optional ``authorities`` table (authority_code, authority_name) so an
            authority name is accepted too and unknown codes get name suggestions.

    Returns:
        One current authority code, or several (main successor first) for an area that split
        (Northamptonshire, Cumbria, Dorset county).

    Raises:
        UnknownAuthority: naming the code and suggesting the closest known codes and names.
    """
    key = str(code).strip().upper()
    if key.isdigit():
        key = key.zfill(3)
    hits = authority_codes.loc[authority_codes["code"].str.upper() == key, "authority_code"]
    if len(hits):
        return list(dict.fromkeys(hits.tolist()))
    if authorities is not None:
        names = authorities.loc[authorities["authority_name"].str.lower() == str(code).strip().lower(), "authority_code"]
        if len(names):
            return names.tolist()
    closest = suggest_authorities(str(code), authority_codes, authorities)
    hint = f"Closest: {'; '.join(closest)}. " if closest else ""
    raise UnknownAuthority(
        f"unknown authority {str(code).strip()!r}: not one of the 153 English education authorities. {hint}"
        "Run `atlas authorities` for the full list."
    )


def suggest_authorities(text: str, authority_codes: pd.DataFrame, authorities: pd.DataFrame | None = None, limit: int = 3) -> list[str]:
    """Return up to ``limit`` ``"CODE Name"`` labels of the authorities whose code or name best matches ``text``.

    Codes of every kind (current, retired, DfE numbers) are compared character by character,
    names as words; each authority scores its best match.

    Args:
        text: what the user gave.
        authority_codes: code, authority_code (the ``authority_codes`` table).
        authorities: authority_code, authority_name (optional: names are then compared and shown).
        limit: how many to return.
    """
    from rapidfuzz import fuzz, process

    names: dict[str, str] = {}
    if authorities is not None:
        names = dict(zip(authorities["authority_code"].astype(str), authorities["authority_name"].astype(str)))
    known = authority_codes[["code", "authority_code"]].astype(str)
    query = text.strip()
    best: dict[str, float] = {}
    for _, score, index in process.extract(query.upper(), known["code"].tolist(), scorer=fuzz.ratio, limit=10):
        target = known["authority_code"].iloc[index]
        best[target] = max(best.get(target, 0.0), score)
    if names:
        codes = list(names)
        for _, score, index in process.extract(query, [names[c] for c in codes], scorer=fuzz.WRatio, limit=10, processor=str.lower):
            best[codes[index]] = max(best.get(codes[index], 0.0), score)
    top = sorted(best, key=lambda c: (-best[c], c))[:limit]
    return [f"{c} {names.get(c, '')}".strip() for c in top]


def clean_coverage(geometries: np.ndarray) -> np.ndarray:
    """Make polygons a valid coverage: repair invalid ones, then remove overlaps and slivers.

    The LSOA 2011 polygons of England are not a valid coverage (508 polygons with bad edges, 5
    invalid with nested shells). :func:`shapely.make_valid` repairs the invalid ones, and
    :func:`shapely.coverage_clean` snaps shared edges so each point lies in exactly one polygon.

    Args:
        geometries: array of Polygon/MultiPolygon in a metric CRS (EPSG:27700).

    Returns:
        Array of the same length, Polygon/MultiPolygon, forming a valid coverage.

    Raises:
        AtlasError: a polygon becomes empty in cleaning (it would be silently lost).
    """
    import shapely

    geoms = np.asarray(geometries, dtype=object).copy()
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        repaired = shapely.make_valid(geoms[invalid])
        # make_valid may return collections holding lines: keep the polygonal parts
        repaired = np.array([_polygonal(g) for g in repaired], dtype=object)
        geoms[invalid] = repaired
    cleaned = shapely.coverage_clean(geoms)
    empty = shapely.is_empty(cleaned) | pd.isna(cleaned)
    if empty.any():
        raise AtlasError(f"coverage cleaning emptied {int(empty.sum())} polygon(s) (positions {np.flatnonzero(empty)[:5].tolist()})")
    return np.array([_polygonal(g) for g in cleaned], dtype=object)


def _polygonal(geom):
    """Return the polygonal part of a geometry (Polygon or MultiPolygon)."""
    import shapely

    kind = shapely.get_type_id(geom)
    if kind in (3, 6):
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    polys = [q for p in parts for q in (shapely.get_parts(p) if shapely.get_type_id(p) == 6 else [p])]
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def dissolve_coverage(frame, by: str):
    """Union the polygons of a valid coverage by group (fast: shared edges are exact).

    Args:
        frame: GeoDataFrame whose geometries form a valid coverage (:func:`clean_coverage`).
        by: the grouping column (``authority_code``).

    Returns:
        GeoDataFrame with ``by`` and geometry (Polygon/MultiPolygon), one row per group, same CRS,
        sorted by ``by``.
    """
    import geopandas as gpd
    import shapely

    groups = frame.groupby(by, sort=True).indices
    geoms = frame.geometry.to_numpy()
    merged = [_polygonal(shapely.coverage_union_all(geoms[idx])) for idx in groups.values()]
    return gpd.GeoDataFrame({by: pd.array(list(groups), dtype="string")}, geometry=merged, crs=frame.crs)


def simplify_for_display(frame, tolerance_m: float = 50.0, decimals: int = 5, columns: list[str] | None = None):
    """Simplify a polygon coverage for web maps without opening gaps, and convert it to EPSG:4326.

    Uses :func:`shapely.coverage_simplify` (shared edges simplified once, so neighbours still
    meet) in metres, then reprojects to EPSG:4326 and rounds coordinates to ``decimals``
    (5 decimals: about 1 m).

    Args:
        frame: GeoDataFrame in EPSG:27700 whose geometries form a valid coverage.
        tolerance_m: simplification tolerance in metres.
        decimals: decimal places kept in degrees.
        columns: attribute columns to keep (default all).

    Returns:
        GeoDataFrame in EPSG:4326 with ``columns`` and geometry.

    Raises:
        AtlasError: the frame is not in EPSG:27700 (metres), or a polygon vanishes.
    """
    import shapely

    if frame.crs is None or frame.crs.to_epsg() != 27700:
        raise AtlasError(f"simplify_for_display needs EPSG:27700 (metres); got {frame.crs}")
    keep = list(columns) if columns is not None else [c for c in frame.columns if c != frame.geometry.name]
    simplified = shapely.coverage_simplify(frame.geometry.to_numpy(), tolerance_m)
    out = frame[keep].copy()
    out = out.set_geometry(simplified, crs=frame.crs) if hasattr(out, "set_geometry") else None
    if out is None:
        import geopandas as gpd

        out = gpd.GeoDataFrame(frame[keep].copy(), geometry=simplified, crs=frame.crs)
    out = out.to_crs("EPSG:4326")
    rounded = shapely.set_precision(out.geometry.to_numpy(), 10.0**-decimals, mode="pointwise")
    invalid = ~shapely.is_valid(rounded)
    if invalid.any():  # rounding can pinch a thin polygon into a self-touching ring: repair those few
        rounded[invalid] = [_polygonal(g) for g in shapely.make_valid(rounded[invalid])]
    empty = shapely.is_empty(rounded)
    if empty.any():
        raise AtlasError(f"{int(empty.sum())} polygon(s) vanished when simplified at {tolerance_m} m")
    return out.set_geometry(rounded, crs="EPSG:4326")


def la_population_by_authority(la_population: pd.DataFrame, la_codes: pd.DataFrame, authority_codes: set[str] | list[str]) -> pd.DataFrame:
    """Sum district populations into the current education authorities.

    District rows (unitary, metropolitan, London borough, non-metropolitan district) are mapped
    through ``la_codes`` (retired codes to the current upper-tier authority) and summed, so
    counties and reorganised areas (Buckinghamshire, Northamptonshire, Dorset/BCP, Cumbria,
    North Yorkshire, Somerset) come out on current boundaries. County and region rows are
    ignored (they would double count).

    Args:
        la_population: long table (code, geography, year, age, population) from
            :func:`atlaskit.sources.population.read_la_population`.
        la_codes: district_code -> authority_code (current), from
            :func:`atlaskit.sources.geography.read_la_codes`.
        authority_codes: the current authority codes expected (153).

    Returns:
        DataFrame with authority_code, year, age, population (int64), sorted.

    Raises:
        DataFormatError: an English district code cannot be mapped, or an authority gets no
            population.
    """
    district_kinds = {"Unitary Authority", "Non-metropolitan District", "Metropolitan District", "London Borough"}
    rows = la_population[la_population["code"].str.startswith("E") & la_population["geography"].isin(district_kinds)]
    mapping = dict(zip(la_codes["district_code"], la_codes["authority_code"]))
    mapped = rows["code"].map(mapping)
    unmapped = sorted(rows.loc[mapped.isna(), "code"].unique())
    if unmapped:
        raise DataFormatError(f"population: district code(s) with no current authority: {', '.join(unmapped[:5])}")
    out = (
        rows.assign(authority_code=mapped.astype("string"))
        .groupby(["authority_code", "year", "age"], as_index=False)["population"]
        .sum()
    )
    missing = sorted(set(authority_codes) - set(out["authority_code"]))
    if missing:
        raise DataFormatError(f"population: no districts found for authority(ies) {', '.join(missing[:5])}")
    extra = sorted(set(out["authority_code"]) - set(authority_codes))
    if extra:
        raise DataFormatError(f"population: districts map to non-education authorities {', '.join(extra[:5])}")
    out["population"] = out["population"].astype("int64")
    return out.sort_values(["authority_code", "year", "age"]).reset_index(drop=True)


def authorities_from_lsoas(lsoas, utla: pd.DataFrame, regions: pd.DataFrame, la_number_by_authority: dict[str, str]):
    """Assemble the authorities table: one row and boundary per authority, from its LSOAs.

    Args:
        lsoas: GeoDataFrame (EPSG:27700, a valid coverage) with authority_code, region_code.
        utla: current upper-tier authorities (authority_code, authority_name).
        regions: region_code, region_name.
        la_number_by_authority: DfE 3-digit number (text) by current authority code.

    Returns:
        GeoDataFrame (EPSG:27700) with authority_code, authority_name, authority_type,
        region_code, region_name, la_number (Int64), n_lsoas, geometry; sorted by code.

    Raises:
        DataFormatError: an authority lies in two regions, lacks a name or a DfE number.
    """
    shapes = dissolve_coverage(lsoas[["authority_code", "geometry"]], "authority_code")
    counts = lsoas.groupby("authority_code").agg(n_lsoas=("authority_code", "size"), region_code=("region_code", "first"), n_regions=("region_code", "nunique"))
    if (counts["n_regions"] > 1).any():
        raise DataFormatError(f"authorities in two regions: {', '.join(counts.index[counts['n_regions'] > 1][:5])}")
    table = shapes.merge(counts.drop(columns="n_regions").reset_index(), on="authority_code", how="left", validate="1:1")
    table = table.merge(utla[["authority_code", "authority_name"]], on="authority_code", how="left", validate="1:1")
    table = table.merge(regions, on="region_code", how="left", validate="m:1")
    for column in ("authority_name", "region_name"):
        if table[column].isna().any():
            raise DataFormatError(f"authorities without {column}: {', '.join(table.loc[table[column].isna(), 'authority_code'][:5])}")
    table["authority_type"] = table["authority_code"].map(authority_type).astype("string")
    numbers = table["authority_code"].map(la_number_by_authority)
    if numbers.isna().any():
        raise DataFormatError(f"authorities without a DfE LA number: {', '.join(table.loc[numbers.isna(), 'authority_code'][:5])}")
    table["la_number"] = pd.to_numeric(numbers).astype("Int64")
    table["n_lsoas"] = table["n_lsoas"].astype("int64")
    columns = ["authority_code", "authority_name", "authority_type", "region_code", "region_name", "la_number", "n_lsoas", "geometry"]
    return table[columns].sort_values("authority_code").reset_index(drop=True)

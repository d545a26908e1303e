"""Readers of geography, population and deprivation files on tiny fixtures written by code.

Each fixture reproduces one quirk of the real files (byte-order mark, CRLF, cp1252 / stray 0xA0
byte, thousands separators in quotes, empty trailing columns, blank rows, England-and-Wales ranks,
quoted names holding commas, CRS84 GeoJSON) at the path the reader expects under a temporary
``ATLAS_DATA_DIR``. Checksums are not verified for fixtures (the manifest is emptied).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

import atlaskit.sources
import atlaskit.sources.geography as geography_sources
from atlaskit.errors import DataFileMissing, DataFormatError
from atlaskit.sources import deprivation, population
from atlaskit.sources import geography as sources

BOM = "\ufeff"


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    """An empty data folder whose files are not checked against the packaged manifest."""
    monkeypatch.setattr(atlaskit.sources, "manifest", lambda: {})
    monkeypatch.setattr(geography_sources, "manifest", lambda: {})
    return tmp_path


def write(base: Path, relpath: str, text: str, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path = base / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def square(x: float, y: float, size: float) -> list:
    return [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]


def lsoa_feature(code: str, district: str, utla: str, lon: float, lat: float, **extra) -> dict:
    properties = {
        "FID": 1,
        "LSOA11CD": code,
        "LSOA11NM": f"{code} name",
        "BNG_E": 530000,
        "BNG_N": 180000,
        "LONG": lon,
        "LAT": lat,
        "LADCD_ACTIVE": district,
        "UTLACD": utla,
        "RGNCD": "E12000008",
    } | extra
    return {"type": "Feature", "properties": properties, "geometry": {"type": "Polygon", "coordinates": square(lon, lat, 0.01)}}


def write_geojson(base: Path, district: str, features: list[dict]) -> None:
    collection = {
        "type": "FeatureCollection",
        "name": district,
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }
    write(base, f"geography/lsoa11/{district}.geojson", json.dumps(collection))


# --- LSOA boundaries -------------------------------------------------------------------------


def test_lsoa_boundaries_are_read_from_every_district_file_and_reprojected_to_bng(data):
    write_geojson(data, "E07000105", [lsoa_feature("E01024001", "E07000105", "E10000016", 0.87, 51.15)])
    write_geojson(
        data,
        "E07000106",
        [lsoa_feature("E01024100", "E07000106", "E10000016", 1.08, 51.28), lsoa_feature("E01024101", "E07000106", "E10000016", 1.09, 51.28)],
    )
    frame = sources.read_lsoa_boundaries(data, max_workers=2)
    assert list(frame.columns) == ["lsoa11_code", "lsoa11_name", "district_code", "authority_code", "region_code", "easting", "northing", "geometry"]
    assert frame.crs.to_epsg() == 27700
    assert sorted(frame["lsoa11_code"]) == ["E01024001", "E01024100", "E01024101"]
    assert frame["easting"].dtype == "int64"
    # Kent is around easting 600,000 m, northing 150,000 m: the polygons were reprojected to metres
    minx, miny, maxx, maxy = frame.total_bounds
    assert 550_000 < minx < maxx < 650_000 and 130_000 < miny < maxy < 180_000


def test_an_lsoa_in_two_district_files_is_an_error(data):
    write_geojson(data, "E07000105", [lsoa_feature("E01024001", "E07000105", "E10000016", 0.87, 51.15)])
    write_geojson(data, "E07000106", [lsoa_feature("E01024001", "E07000106", "E10000016", 1.08, 51.28)])
    with pytest.raises(DataFormatError, match="E01024001"):
        sources.read_lsoa_boundaries(data)


def test_a_boundary_file_without_the_expected_properties_is_named(data):
    feature = lsoa_feature("E01024001", "E07000105", "E10000016", 0.87, 51.15)
    del feature["properties"]["UTLACD"]
    write_geojson(data, "E07000105", [feature])
    with pytest.raises(DataFormatError, match="UTLACD"):
        sources.read_lsoa_boundaries(data)


def test_missing_boundary_folder_is_reported(data):
    with pytest.raises(DataFileMissing, match="lsoa11"):
        sources.read_lsoa_boundaries(data)


# --- code lookups ------------------------------------------------------------------------------


def test_lsoa_lookup_with_crlf_line_ends(data):
    write(
        data,
        "geography/lsoa11_to_current_lad_utla_england.csv",
        "LSOA11CD,LSOA11NM,LADCD,LADNM,UTLACD,UTLANM,RGNCD,RGNNM\n"
        "E01000001,City of London 001A,E09000001,City of London,E09000001,City of London,E12000007,London\n"
        'E01012345,"Hull, City of 001A",E06000010,"Kingston upon Hull, City of",E06000010,"Kingston upon Hull, City of",E12000003,Yorkshire and The Humber\n',
        newline="\r\n",
    )
    frame = sources.read_lsoa_lookup(data)
    assert frame["lsoa11_code"].tolist() == ["E01000001", "E01012345"]
    assert frame.loc[1, "authority_name"] == "Kingston upon Hull, City of"
    assert not frame["region_name"].str.endswith("\r").any()


def test_la_codes_map_retired_districts_and_parse_the_current_flag(data):
    header = "LADCD,LADNM,LADCD_ACTIVE,LADNM_ACTIVE,UTLACD,UTLANM,CAUTHCD,CAUTHNM,RGNCD,RGNNM,CTRYCD,CTRYNM,Current\n"
    write(
        data,
        "geography/la_all_codes.csv",
        header
        + "E07000004,Aylesbury Vale,E06000060,Buckinghamshire,E06000060,Buckinghamshire,,,E12000008,South East,E92000001,England,FALSE\n"
        + 'E06000010,"Kingston upon Hull, City of",E06000010,"Kingston upon Hull, City of",E06000010,"Kingston upon Hull, City of",,,E12000003,Yorkshire,E92000001,England,TRUE\n',
    )
    frame = sources.read_la_codes(data)
    assert frame["is_current"].tolist() == [False, True]
    assert frame.loc[0, "authority_code"] == "E06000060"
    assert frame.loc[1, "district_name"] == "Kingston upon Hull, City of"


def test_authority_changes_with_a_byte_order_mark_and_terminations(data):
    write(
        data,
        "geography/authority_changes.csv",
        BOM
        + "oldcd,oldnm,newcd,newnm,type,start\n"
        + "E07000004,Aylesbury Vale,E06000060,Buckinghamshire,merger,2020\n"
        + "E10000002,Buckinghamshire,,,termination,2020\n",
    )
    frame = sources.read_authority_changes(data)
    assert list(frame.columns) == ["old_code", "old_name", "new_code", "new_name", "change_type", "year"]
    assert frame["year"].tolist() == [2020, 2020]
    assert pd.isna(frame.loc[1, "new_code"])


def test_rural_urban_with_byte_order_mark(data):
    write(
        data,
        "geography/lsoa11_rural_urban_classification.csv",
        BOM + "LSOA11CD,LSOA11NM,RUC11CD,RUC11,FID\nE01007069,Sefton 017C,A1,Urban major conurbation,7001\n",
    )
    frame = sources.read_rural_urban(data)
    assert frame.to_dict("records") == [{"lsoa11_code": "E01007069", "ruc11_code": "A1", "ruc11_name": "Urban major conurbation"}]


def test_la_numbers_from_the_scorecard_one_row_per_number(data):
    rows = ["Year,geographic_level,LANumber,new_la_code,LA_name,PriNOR"]
    for year in ("2024/25", "2023/24"):
        rows += [f"{year},National,,E92000001,England,1", f"{year},Local authority,370,E08000016,Barnsley,2", f"{year},Local authority,886,E10000016,Kent,3"]
    write(data, "planning/scorecard_data_2025_2023.csv", "\n".join(rows) + "\n")
    frame = sources.read_la_numbers(data)
    assert frame.to_dict("records") == [
        {"la_number": "370", "ons_code": "E08000016", "la_name": "Barnsley"},
        {"la_number": "886", "ons_code": "E10000016", "la_name": "Kent"},
    ]


def test_la_numbers_that_are_not_three_digits_are_refused(data):
    write(data, "planning/scorecard_data_2025_2023.csv", "Year,geographic_level,LANumber,new_la_code,LA_name\n2024/25,Local authority,88,E10000016,Kent\n")
    with pytest.raises(DataFormatError, match="3 digits"):
        sources.read_la_numbers(data)


# --- population ----------------------------------------------------------------------------------


def test_lsoa_children_by_age_with_crlf(data):
    header = "lsoa11_code,lsoa11_name,total_population," + ",".join(map(str, range(19)))
    row = "E01011949,Hartlepool 009A,1954," + ",".join(str(10 + a) for a in range(19))
    write(data, "population/lsoa11_population_age0to18_mid2019_england.csv", f"{header}\n{row}\n", newline="\r\n")
    frame = population.read_lsoa_children(2019, data)
    assert frame.loc[0, "age_0"] == 10 and frame.loc[0, "age_18"] == 28
    assert frame["age_18"].dtype == "int64"
    assert frame.loc[0, "total_population"] == 1954


def test_population_for_a_year_not_published_is_refused(data):
    with pytest.raises(DataFormatError, match="2019, 2020"):
        population.read_lsoa_children(2031, data)


def _la_population_text(rows: list[tuple[str, str, str, list[int]]], trailing_empty: int = 0, blank_rows: int = 0) -> str:
    ages = [str(a) for a in range(90)] + ["90+"]
    header = ",".join(["Code", "Name", "Geography", "All ages", *ages] + [""] * trailing_empty)
    lines = [header]
    for code, name, geography, counts in rows:
        cells = [code, f'"{name}"' if "," in name else name, geography, f'"{sum(counts):,}"'] + [f'"{c:,}"' if c >= 1000 else str(c) for c in counts]
        lines.append(",".join(cells + [""] * trailing_empty))
        lines += ["," * (len(ages) + 3 + trailing_empty)] * blank_rows
    return "\n".join(lines) + "\n"


def test_la_population_2020_quirks_cp1252_byte_empty_columns_blank_rows_thousands(data):
    counts = [1234 + a for a in range(91)]
    text = _la_population_text(
        [("E06000062", "West Northamptonshire\u00a0", "Unitary Authority", counts), ("E10000016", "Kent", "County", [5] * 91)],
        trailing_empty=118,
        blank_rows=2,
    )
    write(data, "population/la_population_by_age_mid2020.csv", text, encoding="cp1252", newline="\r\n")
    raw = (data / "population/la_population_by_age_mid2020.csv").read_bytes()
    assert b"\xa0" in raw  # the fixture really holds the stray non-UTF-8 byte
    frame = population.read_la_population(2020, data)
    assert list(frame.columns) == ["code", "name", "geography", "year", "age", "population"]
    assert len(frame) == 2 * 91  # blank rows and empty columns dropped
    west = frame[frame["code"] == "E06000062"]
    assert west["name"].unique().tolist() == ["West Northamptonshire"]
    assert west["population"].tolist() == counts  # "1,234" parsed as 1234
    assert west["age"].max() == 90 and frame["year"].unique().tolist() == [2020]


def test_la_population_missing_count_is_an_error(data):
    text = _la_population_text([("E10000016", "Kent", "County", [5] * 91)]).replace(",5,5,", ",5,,", 1)
    write(data, "population/la_population_by_age_mid2019.csv", text)
    with pytest.raises(DataFormatError, match="missing"):
        population.read_la_population(2019, data)


# --- deprivation -------------------------------------------------------------------------------------


def _gz(base: Path, relpath: str, text: str) -> None:
    path = base / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.replace("\n", "\r\n").encode("utf-8")))


LSOAS = ["E01000001", "E01000002", "E01000003", "E01000004"]
#: First line of the IMD File_1 (with its byte-order mark), as published.
IMD_HEADER = (
    BOM
    + "LSOA code (2011),LSOA name (2011),Local Authority District code (2019),Local Authority District name (2019),"
    + "Index of Multiple Deprivation (IMD) Rank,Index of Multiple Deprivation (IMD) Decile\n"
)


def _deprivation_fixture(base: Path) -> None:
    _gz(
        base,
        deprivation.IMD_FILE,
        IMD_HEADER
        + "".join(f'{c},n,E09000001,City,"{r:,}",{d}\n' for c, r, d in zip(LSOAS, [2, 1_234, 4, 1], [1, 10, 2, 1])),
    )
    # England and Wales ranks: two Welsh LSOAs (W...) sit between the English ones, and a tie
    ew = [("E01000001", 0.30, 3), ("W01000001", 0.50, 1), ("E01000002", 0.05, 6), ("W01000002", 0.40, 2), ("E01000003", 0.30, 3), ("E01000004", 0.10, 5)]
    header = "LSOA Code (2011),LSOA name (2011),Local Authority District code (2019),Local Authority District name (2019),Income Domain Score,Income Domain Rank (where 1 is most deprived),IDACI Score,IDACI Rank (where 1 is most deprived),IDAOPI Score,IDAOPI Rank (where 1 is most deprived)\n"
    write(base, deprivation.IDACI_FILE, header + "".join(f"{c},n,X,x,0.1,1,{s},{r},0.1,1\n" for c, s, r in ew))


def test_imd_ranks_with_thousands_separators_bom_and_crlf(data):
    _deprivation_fixture(data)
    frame = deprivation.read_imd(data)
    assert frame["imd_rank"].tolist() == [2, 1234, 4, 1]
    assert frame["imd_decile"].dtype == "int64"
    assert frame["lsoa11_code"].tolist() == LSOAS


def test_idaci_ranks_are_england_ranks_not_england_and_wales(data):
    _deprivation_fixture(data)
    frame = deprivation.read_deprivation(data).set_index("lsoa11_code")
    # E&W ranks 3, 6, 3, 5 become England ranks 1, 4, 1 (tie kept), 3
    assert frame["idaci_rank"].tolist() == [1, 4, 1, 3]
    assert frame["idaci_score"].tolist() == [0.30, 0.05, 0.30, 0.10]
    assert frame["idaci_decile"].between(1, 10).all()
    assert frame["imd_score"].isna().all()  # File_5 scores are not in the data folder


def test_rank_within_and_deciles():
    ranks = pd.Series([10, 1, 7, 3, 3])
    keep = pd.Series([True, False, True, True, True])
    out = deprivation.rank_within(ranks, keep)
    assert out.tolist()[0] == 4 and pd.isna(out[1]) and out.tolist()[2:] == [3, 1, 1]
    deciles = deprivation.rank_to_decile(pd.Series(range(1, 21)), n=20)
    assert deciles.tolist() == [d for d in range(1, 11) for _ in range(2)]


def test_english_lsoa_missing_from_file_7a_is_an_error(data):
    _deprivation_fixture(data)
    path = data / deprivation.IDACI_FILE
    path.write_text("\n".join(line for line in path.read_text().splitlines() if not line.startswith("E01000004")) + "\n")
    with pytest.raises(DataFormatError, match="E01000004"):
        deprivation.read_deprivation(data)


# --- the whole geography build step on a miniature data folder --------------------------------------


def _mini_data_folder(base: Path) -> None:
    """Two authorities: Medway (unitary, 2 LSOAs) and Kent (county) from its district Ashford (2 LSOAs)."""
    lsoas = [  # code, district, authority, column of the 2x2 grid
        ("E01016001", "E06000035", "E06000035", 0, 0),
        ("E01016002", "E06000035", "E06000035", 0, 1),
        ("E01024001", "E07000105", "E10000016", 1, 0),
        ("E01024002", "E07000105", "E10000016", 1, 1),
    ]
    for district in ("E06000035", "E07000105"):
        features = []
        for code, d, utla, i, j in lsoas:
            if d == district:
                feature = lsoa_feature(code, d, utla, 0.5 + 0.02 * i, 51.3 + 0.02 * j)
                feature["geometry"]["coordinates"] = square(0.5 + 0.02 * i, 51.3 + 0.02 * j, 0.02)
                features.append(feature)
        write_geojson(base, district, features)
    names = {"E06000035": "Medway", "E07000105": "Ashford", "E10000016": "Kent"}
    write(
        base,
        "geography/lsoa11_to_current_lad_utla_england.csv",
        "LSOA11CD,LSOA11NM,LADCD,LADNM,UTLACD,UTLANM,RGNCD,RGNNM\n"
        + "".join(f"{c},{c} name,{d},{names[d]},{u},{names[u]},E12000008,South East\n" for c, d, u, _, _ in lsoas),
        newline="\r\n",
    )
    ages = ",".join(map(str, range(19)))
    for year in (2019, 2020):
        rows = "".join(f"{c},{c} name,1500," + ",".join(str(k + 1) for _ in range(19)) + "\n" for k, (c, *_rest) in enumerate(lsoas))
        write(base, f"population/lsoa11_population_age0to18_mid{year}_england.csv", f"lsoa11_code,lsoa11_name,total_population,{ages}\n{rows}", newline="\r\n")
        # district rows carry the LSOA sums for ages 0-18 (Medway 1+2, Ashford 3+4), 1,000 above
        counts = {"E06000035": [3] * 19 + [1000] * 72, "E07000105": [7] * 19 + [1000] * 72, "E10000016": [7] * 19 + [1000] * 72}
        text = _la_population_text(
            [("E06000035", "Medway", "Unitary Authority", counts["E06000035"]), ("E07000105", "Ashford", "Non-metropolitan District", counts["E07000105"]), ("E10000016", "Kent", "County", counts["E10000016"])],
            trailing_empty=3 if year == 2020 else 0,
            blank_rows=1 if year == 2020 else 0,
        )
        write(base, f"population/la_population_by_age_mid{year}.csv", text, encoding="cp1252")
    _gz(
        base,
        deprivation.IMD_FILE,
        IMD_HEADER
        + "".join(f"{c},n,{d},x,{k + 1},{k * 3 + 1}\n" for k, (c, d, *_rest) in enumerate(lsoas)),
    )
    header = "LSOA Code (2011),LSOA name (2011),Local Authority District code (2019),Local Authority District name (2019),Income Domain Score,Income Domain Rank (where 1 is most deprived),IDACI Score,IDACI Rank (where 1 is most deprived),IDAOPI Score,IDAOPI Rank (where 1 is most deprived)\n"
    write(base, deprivation.IDACI_FILE, header + "W01000001,n,W1,x,0.9,1,0.9,1,0.1,1\n" + "".join(f"{c},n,{d},x,0.1,{k + 2},0.{4 - k},{k + 2},0.1,1\n" for k, (c, d, *_rest) in enumerate(lsoas)))
    write(base, "geography/lsoa11_rural_urban_classification.csv", BOM + "LSOA11CD,LSOA11NM,RUC11CD,RUC11,FID\n" + "".join(f"{c},n,C1,Urban city and town,{k}\n" for k, (c, *_rest) in enumerate(lsoas)))
    write(base, "geography/utla_all_codes.csv", "UTLACD,UTLANM,RGNCD,CTRYCD\nE06000035,Medway,E12000008,E92000001\nE10000016,Kent,E12000008,E92000001\n")
    write(base, "geography/rgn_all_codes.csv", "RGNCD,RGNNM\nE12000008,South East\n")
    write(
        base,
        "geography/la_all_codes.csv",
        "LADCD,LADNM,LADCD_ACTIVE,LADNM_ACTIVE,UTLACD,RGNCD,CTRYCD,Current\n"
        "E06000035,Medway,E06000035,Medway,E06000035,E12000008,E92000001,TRUE\n"
        "E07000105,Ashford,E07000105,Ashford,E10000016,E12000008,E92000001,TRUE\n",
    )
    write(base, "geography/authority_changes.csv", BOM + "oldcd,oldnm,newcd,newnm,type,start\nS12000015,Fife,S12000047,Fife,new_code,2018\n")
    write(
        base,
        "planning/scorecard_data_2025_2023.csv",
        "Year,geographic_level,LANumber,new_la_code,LA_name\n2024/25,National,,E92000001,England\n2024/25,Local authority,887,E06000035,Medway\n2024/25,Local authority,886,E10000016,Kent\n",
    )


def test_build_on_a_miniature_data_folder(data):
    from atlaskit.store.builders.geography import LSOA_COLUMNS, build

    _mini_data_folder(data)
    tables = build(data, {})
    assert set(tables) == {"authorities", "authorities_display", "authority_codes", "districts", "lsoas", "lsoas_display", "la_population", "_notes"}
    lsoas = tables["lsoas"]
    assert lsoas.columns.tolist() == LSOA_COLUMNS
    assert lsoas["authority_code"].tolist() == ["E06000035", "E06000035", "E10000016", "E10000016"]
    assert lsoas["idaci_rank"].tolist() == [1, 2, 3, 4]  # Wales's LSOA removed from the ranking
    authorities = tables["authorities"].set_index("authority_code")
    assert authorities.loc["E10000016", "authority_type"] == "county" and authorities.loc["E10000016", "la_number"] == 886
    assert authorities["n_lsoas"].tolist() == [2, 2]
    assert authorities.loc["E10000016", "geometry"].area == pytest.approx(lsoas.loc[lsoas["authority_code"] == "E10000016"].area.sum())
    population_table = tables["la_population"]
    assert len(population_table) == 2 * 2 * 91
    # ages 0-18 of the LSOAs add up to the published districts' counts
    kent = population_table[(population_table["authority_code"] == "E10000016") & (population_table["year"] == 2020) & (population_table["age"] <= 18)]
    assert (kent["population"] == lsoas.loc[lsoas["authority_code"] == "E10000016", "age_0_2020"].sum()).all()
    codes = tables["authority_codes"]
    assert codes.loc[codes["code"] == "E07000105", "authority_code"].tolist() == ["E10000016"]
    assert tables["lsoas_display"].crs.to_epsg() == 4326 and tables["authorities_display"].crs.to_epsg() == 4326
    assert any("lsoas_display" in note for note in tables["_notes"])

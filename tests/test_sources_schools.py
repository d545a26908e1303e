"""Readers of the school files and Code-Point Open, on small fixtures written by code with each real quirk."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from atlaskit.errors import DataFileMissing, DataFormatError
from atlaskit.sources import postcodes, school_figures
from atlaskit.sources import schools as src


def _write(root: Path, relpath: str, text: str, encoding: str = "utf-8", newline: str = "\n", bom: bool = False) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.replace("\n", newline).encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def _xlsx(root: Path, relpath: str, rows: list[list]) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


# ---------------------------------------------------------------------------------------------


def test_school_postcodes_cp1252_crlf(tmp_path):
    text = (
        "URN,LA (code),LA (name),EstablishmentNumber,EstablishmentName,TypeOfEstablishment (name),PhaseOfEducation (name),Postcode\n"
        "100000,201,City of London,3614,Sir John Cass\u2019s Foundation,Voluntary Aided School,Primary,ec3a5de\n"
        "100006,202,Camden,1100,Agincourt House,Pupil Referral Unit,Not applicable,\n"
    )
    _write(tmp_path, src.SCHOOL_POSTCODES, text, encoding="cp1252", newline="\r\n")
    frame = src.read_school_postcodes(tmp_path, verify=False)
    assert frame["urn"].tolist() == [100000, 100006] and frame["urn"].dtype == "int64"  # URNs are int64 from reading
    assert frame.loc[0, "school_name"] == "Sir John Cass\u2019s Foundation"  # cp1252 right quote decoded
    assert frame.loc[0, "laestab"] == "2013614"
    assert frame.loc[0, "postcode"] == "EC3A 5DE"
    assert pd.isna(frame.loc[1, "postcode"])  # blank kept as missing, the row is not dropped
    assert not frame["school_name"].str.endswith("\r").any()


def test_school_postcodes_repeated_urn_is_an_error(tmp_path):
    text = (
        "URN,LA (code),LA (name),EstablishmentNumber,EstablishmentName,TypeOfEstablishment (name),PhaseOfEducation (name),Postcode\n"
        "100000,201,City,3614,A,Community School,Primary,EC3A 5DE\n100000,201,City,3615,B,Community School,Primary,EC3A 5DE\n"
    )
    _write(tmp_path, src.SCHOOL_POSTCODES, text)
    with pytest.raises(DataFormatError, match="100000"):
        src.read_school_postcodes(tmp_path, verify=False)


def test_missing_file_names_the_data_set(tmp_path):
    with pytest.raises(DataFileMissing, match="school_postcode.csv.*get-information-schools"):
        src.read_school_postcodes(tmp_path, verify=False)


SPINE_HEADER = ["URN", "LA", "ESTAB", "LAESTAB", "SCHNAME", "OTHERSCHNAME", "STREET", "LOCALITY", "ADDRESS3", "TOWN", "POSTCODE",
                "TELNUM", "ICLOSE", "OPENDATE", "CLOSEDATE", "ISNEW", "MINORGROUP", "NFTYPE", "OTHERNFTYPE", "ISPRIMARY",
                "ISSECONDARY", "ISPOST16", "AGEL", "AGEH", "GENDER", "SIXFGENDER", "RELDENOM", "ADMPOL", "OTHERURN",
                "NEWACFLAG", "RE-BROKERED"]  # fmt: skip


def _spine_row(urn, laestab, name, postcode, iclose=1, opened=None, closed=None, nftype="Community school", group="Maintained School"):
    la, estab = int(str(laestab)[:3]), int(str(laestab)[3:])
    return [urn, la, estab, laestab, name, None, "Street", None, None, "Town", postcode, "0", iclose, opened, closed, 0, group, nftype,
            "", 1, 0, 0, 4, 11, "Mixed", "Mixed", "Does not apply", "Not recorded", None, 6, 0]  # fmt: skip


def test_spine_keeps_shared_laestab_and_blank_postcodes(tmp_path):
    rows = [
        SPINE_HEADER,
        _spine_row(100010, 2022000, "Old School", "NW1 1AA", iclose=2, closed=dt.datetime(2016, 8, 31)),
        _spine_row(140000, 2022000, "New Academy", "NW1 1AA", opened=dt.datetime(2016, 9, 1), nftype="Academy - Converter mainstream", group="Academy"),
        _spine_row(132269, 7026001, "Bielefeld Primary School", None, nftype="Service childrens education", group=None),
    ]
    _xlsx(tmp_path, src.SPINE, rows)
    frame = src.read_spine(tmp_path, verify=False)
    assert len(frame) == 3
    assert frame["laestab"].tolist()[:2] == ["2022000", "2022000"]  # LAESTAB not unique: both kept
    assert frame["is_open"].tolist() == [False, True, True]
    assert frame.loc[0, "close_date"] == pd.Timestamp("2016-08-31")
    assert pd.isna(frame.loc[2, "postcode"])
    assert frame["age_low"].dtype == "Int64" and frame.loc[0, "age_high"] == 11


def test_census_bom_na_and_national_rows(tmp_path):
    text = (
        "URN,LA,ESTAB,SCHOOLTYPE,NOR,NORG,NORB,PNORG,PNORB,TSENELSE,PSENELSE,TSENELK,PSENELK,NUMEAL,NUMENGFL,NUMUNCFL,PNUMEAL,PNUMENGFL,PNUMUNCFL,NUMFSM,NUMFSMEVER,PNUMFSMEVER\n"
        "100000,201,3614,State-funded primary,285,141,144,49.5,50.5,5,1.8,50,17.5,141,143,1,49.5,50.2,0.4,32,38,16.2\n"
        "100001,201,6005,Independent school,752,752,0,100,0,0,0,58,7.7,NA,NA,NA,NA,NA,NA,NA,NA,NA\n"
        "NAT,,PRI,State-funded primary,\"4,727,089\",1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n"
    )
    _write(tmp_path, src.CENSUS, text, bom=True)
    frame = src.read_census(tmp_path, verify=False)
    assert frame["urn"].tolist() == [100000, 100001]  # BOM did not hide URN; national row dropped
    assert frame.loc[0, "pupils_2019"] == 285
    assert np.isnan(frame.loc[1, "fsm_ever_pct_2019"])  # NA marker -> missing
    assert frame.loc[1, "laestab"] == "2016005"


LSA_HEADER = "OBJECTID,longitude,latitude,URN,SCHOOL_NAM,TYPE,PHASE,ADDRESS,TOWN,POSTCODE,STATUS,GENDER,EASTING,NORTHING,WARD_NAME,LSOA_NAME,LA_NAME,WEBLINK,AGE,map_icon,NEW_URN,OLD_URN,map_icon_l,Primary\n"


def test_london_schools_atlas_age_repair_and_projection(tmp_path):
    text = LSA_HEADER + (
        "1,-0.0945782,51.5191994,100001,City Girls,Other Independent School,Not applicable,St Giles,London,EC2Y 8BB,Open,Girls,532301,181746,W,City of London 001B,City of London, ,18-Jul, , , ,2,1\n"
        "2,-0.0945782,51.5191994,100001,City Girls,Other Independent School,Not applicable,St Giles,London,EC2Y 8BB,Open,Girls,532301,181746,W,City of London 001B,City of London, ,18-Jul, , , ,2,0\n"
        "3,-0.1,51.5,100002,Other,Community School,Primary,Road,London,SE1 1AA,Open,Mixed,530000,180000,W,Southwark 001A,Southwark, ,11-Mar, , , ,2,1\n"
        "4,-0.1,51.5,100003,Sixth,Community School,Secondary,Road,London,SE1 1AB,Open,Mixed,530000,180000,W,Southwark 001A,Southwark, ,14 - 19, , , ,2,0\n"
    )
    _write(tmp_path, src.LONDON_SCHOOLS_ATLAS, text, encoding="latin-1")
    frame = src.read_london_schools_atlas(tmp_path, verify=False)
    assert len(frame) == 4  # the reader keeps both layer rows; dedupe_london_schools merges them
    assert frame["age_range"].tolist() == ["7-18", "7-18", "3-11", "14-19"]
    assert frame.loc[2, "age_low"] == 3 and frame.loc[2, "age_high"] == 11
    assert frame["primary_layer"].tolist() == [True, False, True, False]
    # the published lon/lat of the first school projects to within a few metres of its easting/northing
    gap = np.hypot(frame.loc[0, "easting"] - frame.loc[0, "lonlat_easting"], frame.loc[0, "northing"] - frame.loc[0, "lonlat_northing"])
    assert gap < 10


UD1_HEADER = ["LAEstab", "LA1", "estab1", "LAname", "Schoolname", "Phase", "MAYNOR", "Netcapacity (1)", "PrimaryCapacity (2)",
              "SecondaryCapacity (2)", "Primary PA code (2)", "Secondary PA code (2)", "Main Phase"]  # fmt: skip


def test_capacity_shifted_row_is_repaired(tmp_path):
    rows = [
        UD1_HEADER,
        [2013614, 201, 3614, "City of London", "Sir John Cass", "PS", 203, 210, None, None, 2010001, None, "PRI"],
        # the real row 8844014: the name split at its comma pushes every later cell one column right
        [8844014, 884, 4014, "Herefordshire", "Whitecross Hereford", "High School and Specialist Sports College", "SS", 837, 900, None, None, None, 8840001, "SEC"],
        [9386914, 938, 6914, "West Sussex", "Shoreham Academy", "AT", 1549, 1650, 420, 1230, 9380001, 9380021, "SEC"],
    ]
    _xlsx(tmp_path, school_figures.CAPACITY_2015, rows)
    frame = school_figures.read_capacity_2015(tmp_path, verify=False).set_index("laestab")
    fixed = frame.loc["8844014"]
    assert fixed["school_name"] == "Whitecross Hereford High School and Specialist Sports College"
    assert fixed["scap_phase"] == "SS" and fixed["main_phase"] == "SEC"
    assert fixed["pupils_2015"] == 837 and fixed["capacity_2015"] == 900
    assert fixed["planning_area_secondary_code"] == "8840001"
    assert bool(fixed["row_repaired"]) and not frame.loc["2013614", "row_repaired"]
    assert frame.loc["9386914", "capacity_primary_2015"] == 420
    assert frame.loc["2013614", "planning_area_primary_code"] == "2010001"  # no ".0" from Excel floats


def test_capacity_row_spilling_two_columns_is_an_error():
    raw = pd.DataFrame([[1, 2, 3, "L", "Name", "PS", 1, 2, 3, 4, 5, 6, "PRI", "x", "y"]], columns=UD1_HEADER + ["Unnamed: 13", "Unnamed: 14"])
    with pytest.raises(DataFormatError, match="two or more columns"):
        school_figures.fix_shifted_capacity_rows(raw)


def test_capacity_unshiftable_row_is_an_error():
    raw = pd.DataFrame([[1, 2, 3, "L", "Name", "PS", 1, 2, 3, 4, 5, 6, "PRI", "junk"]], columns=UD1_HEADER + ["Unnamed: 13"])
    with pytest.raises(DataFormatError, match="not a one-column shift"):
        school_figures.fix_shifted_capacity_rows(raw)


def test_ks2_percentages_blanks_and_lowcov(tmp_path):
    header = "URN,KS2 Pupils,KS2 Boys,KS2 Girls,Reading Progress,Reading Score,Reading Meet Std,Reading Exceed Std,Reading Progress Band,Reading Progress Desc,Writing Progress,Writing Score,Writing Meet Std,Writing Exceed Std,Writing Progress Band,Writing Progress Desc,Maths Progress,Maths Score,Maths Meet Std,Maths Exceed Std,Maths Progress Band,Maths Progress Desc,Overall Meet Std,Overall Exceed Std,Academic Year\n"
    text = header + (
        "138305,26,10,16,3.1,109,92%,50%,1,Well Above Average,1.3,110,88%,62%,3,Average,1.3,106,92%,19%,3,Average,88%,8%,2018\n"
        "111111,5,,,LOWCOV,,,,LOWCOV,NOT AVAIL,LOWCOV,,,,LOWCOV,NOT AVAIL,LOWCOV,,,,LOWCOV,NOT AVAIL,,,2018\n"
    )
    _write(tmp_path, school_figures.KS2, text, newline="\r\n")
    frame = school_figures.read_ks2(tmp_path, verify=False).set_index("urn")
    assert frame.loc[138305, "ks2_rwm_expected_pct"] == 88.0  # "88%" -> 88 (percent units)
    assert np.isnan(frame.loc[111111, "ks2_rwm_expected_pct"])  # blank suppression -> missing
    assert np.isnan(frame.loc[111111, "ks2_reading_progress"])
    assert frame.loc[111111, "ks2_progress_marker"] == "LOWCOV"  # the marker is kept
    assert pd.isna(frame.loc[138305, "ks2_progress_marker"])


def test_ks2_unknown_text_is_an_error(tmp_path):
    header = "URN,KS2 Pupils,Reading Progress,Writing Progress,Maths Progress,Overall Meet Std,Overall Exceed Std\n"
    _write(tmp_path, school_figures.KS2, header + "138305,26,3.1,1,1,eighty,8%\n")
    with pytest.raises(DataFormatError, match="eighty"):
        school_figures.read_ks2(tmp_path, verify=False)


def test_ks4_not_avail_and_blank_rows(tmp_path):
    header = "URN,KS4 Pupils,KS4 Boys,KS4 Girls,Progress 8,Progress 8 Boys,Progress 8 Girls,Attainment 8,Attainment 8 Boys,Attainment 8 Girls,Eng Maths Grade 5,Entering EBacc,EBacc Avg Score,EBacc Avg Boys,EBacc Avg Girls,EBacc Grade 5,Progress 8 Band,P8 Desc,Academic Year\n"
    text = header + (
        "100049,197,114,83,-0.1,-0.25,0.12,44.9,43.8,46.5,41%,12%,3.82,3.79,3.87,5%,3,Average,2018\n"
        "145313,,,,,,,,,,,,,,,,,,2018\n"
        "145314,12,,,,,,30.1,,,SUPP,,,,,,,NOT AVAIL,2018\n"
    )
    _write(tmp_path, school_figures.KS4, text, newline="\r\n")
    frame = school_figures.read_ks4(tmp_path, verify=False).set_index("urn")
    assert frame.loc[100049, "ks4_attainment8"] == 44.9 and frame.loc[100049, "ks4_progress8"] == -0.1
    assert frame.loc[100049, "ks4_eng_maths_grade5_pct"] == 41.0
    assert frame.loc[145313].drop(["ks4_progress8_band", "ks4_marker"]).isna().all()
    assert frame.loc[145314, "ks4_marker"] in {"SUPP", "NOT AVAIL"}
    assert pd.isna(frame.loc[145314, "ks4_progress8_band"])


def test_ofsted_every_inspection_and_bad_rating(tmp_path):
    _write(tmp_path, school_figures.OFSTED, "URN,Rating,Inspection Date\n100000,Outstanding,20130418\n100000,Good,20050921\n100001,Requires Improvement,20180101\n")
    frame = school_figures.read_ofsted(tmp_path, verify=False)
    assert len(frame) == 3
    assert frame["ofsted_grade"].tolist() == [1, 2, 3]
    assert frame.loc[0, "ofsted_date"] == pd.Timestamp("2013-04-18")
    _write(tmp_path, school_figures.OFSTED, "URN,Rating,Inspection Date\n100000,Superb,20130418\n")
    with pytest.raises(DataFormatError, match="Superb"):
        school_figures.read_ofsted(tmp_path, verify=False)


def test_links_cp1252(tmp_path):
    text = '"URN","LinkURN","LinkName","LinkType","LinkEstablishedDate"\n100006,134643,"St Mary\u2019s PRU","Predecessor - merged","01-01-2022"\n100016,132245,"Kingsgate","Successor",""\n'
    _write(tmp_path, src.LINKS, text, encoding="cp1252", newline="\r\n")
    frame = src.read_school_links(tmp_path, verify=False)
    assert frame.loc[0, "link_name"] == "St Mary\u2019s PRU"
    assert frame.loc[0, "link_date"] == pd.Timestamp("2022-01-01")
    assert pd.isna(frame.loc[1, "link_date"])


def _codepoint_zip(root: Path, members: dict[str, str], headers: str = "PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC\n") -> Path:
    path = root / postcodes.CODEPOINT
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Doc/Code-Point_Open_Column_Headers.csv", headers + "Postcode,Positional_quality_indicator,Eastings,Northings,...\n")
        for name, text in members.items():
            archive.writestr(f"Data/CSV/{name}", text)
    return path


def test_codepoint_reads_members_filters_and_blanks_quality_90(tmp_path):
    _codepoint_zip(
        tmp_path,
        {
            "b.csv": '"B1  1BB",10,406654,286500,"E92000001","E19000001","E18000005","","E08000025","E05011151"\n'
            '"B1 1AY",10,406523,286448,"E92000001","E19000001","E18000005","","E08000025","E05011151"\n',
            "ec.csv": '"EC3A 5DE",10,533526,181238,"E92000001","","","","E09000001","E05009291"\n'
            '"EC1A 9ZZ",90,0,0,"E92000001","","","","",""\n',
        },
    )
    every = postcodes.read_codepoint(tmp_path, verify=False)
    assert set(every["postcode"]) == {"B1 1BB", "B1 1AY", "EC3A 5DE", "EC1A 9ZZ"}  # double space normalised
    some = postcodes.read_codepoint(tmp_path, postcodes=pd.Series(["ec3a5de", "b1 1bb", "ZZ1 1ZZ", None]), verify=False).set_index("postcode")
    assert list(some.index.sort_values()) == ["B1 1BB", "EC3A 5DE"]
    assert some.loc["EC3A 5DE", "easting"] == 533526
    none = postcodes.read_codepoint(tmp_path, postcodes=pd.Series(["EC1A 9ZZ"]), verify=False)
    assert none["easting"].isna().all()  # quality 90: no coordinates


def test_codepoint_without_data_members_is_an_error(tmp_path):
    _codepoint_zip(tmp_path, {})
    with pytest.raises(DataFormatError, match="Data/CSV"):
        postcodes.read_codepoint(tmp_path, verify=False)


def test_codepoint_changed_headers_is_an_error(tmp_path):
    _codepoint_zip(tmp_path, {"b.csv": '"B1 1AY",10,1,2,"","","","","",""\n'}, headers="Postcode,Quality,E,N\n")
    with pytest.raises(DataFormatError, match="column headers"):
        postcodes.read_codepoint(tmp_path, verify=False)


def test_codepoint_parses_only_the_areas_asked_for(tmp_path):
    _codepoint_zip(
        tmp_path,
        {
            "b.csv": '"B1 1AY",10,406523,286448,"E92000001","","","","",""\n',
            "zz.csv": "not,a,code-point,file\n",  # would fail to parse: it must not be read
        },
    )
    frame = postcodes.read_codepoint(tmp_path, postcodes=pd.Series(["B1 1AY"]), verify=False)
    assert frame["postcode"].tolist() == ["B1 1AY"] and frame["northing"].tolist() == [286448]
    assert postcodes.read_codepoint(tmp_path, postcodes=pd.Series(["EH1 1AA"]), verify=False).empty
    with pytest.raises(DataFormatError):
        postcodes.read_codepoint(tmp_path, verify=False)

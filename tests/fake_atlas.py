"""A tiny made-up authority for headless app and mapping tests (geemap's ``fake_map`` idea).

Nine square LSOAs (500 m) inside the authority and a ring of 16 neighbours outside, five schools
and a few flows, in EPSG:27700 near central London. Built by code: no data files.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

from atlaskit.errors import UnknownAuthority
from atlaskit.store.loaders import AuthorityData

X0, Y0, SIDE = 528000.0, 182000.0, 500.0

AUTHORITIES = pd.DataFrame(
    {
        "authority_code": ["E09000901", "E09000902", "E06000903"],
        "authority_name": ["Testborough", "Otherham", "Smallshire"],
        "authority_type": ["london", "london", "unitary"],
        "region_name": ["London", "London", "South East"],
        "n_lsoas": [9, 9, 9],
        "n_schools": [4, 4, 4],
    }
)


def make_authority(code: str = "E09000901", seed: int = 1) -> AuthorityData:
    """Return a fake :class:`AuthorityData` for ``code`` (one of :data:`AUTHORITIES`)."""
    row = AUTHORITIES[AUTHORITIES["authority_code"] == code]
    if row.empty:
        raise UnknownAuthority(f"unknown authority {code!r}: not one of the test authorities")
    name = row["authority_name"].iloc[0]
    rng = np.random.default_rng(seed)
    records = []
    k = 0
    for i in range(-1, 4):
        for j in range(-1, 4):
            inside = 0 <= i < 3 and 0 <= j < 3
            k += 1
            geom = box(X0 + i * SIDE, Y0 + j * SIDE, X0 + (i + 1) * SIDE, Y0 + (j + 1) * SIDE)
            rec = {
                "lsoa11_code": f"E01{seed:02d}{k:04d}",
                "lsoa11_name": f"{name} {k:03d}{'' if inside else 'X'}",
                "authority_code": code if inside else "E09000999",
                "in_authority": inside,
                "easting": geom.centroid.x,
                "northing": geom.centroid.y,
                "imd_decile": int(rng.integers(1, 11)),
                "idaci_decile": int(rng.integers(1, 11)),
                "imd_score": float(rng.uniform(5, 50)),
                "geometry": geom,
            }
            for age in range(19):
                rec[f"age_{age}_2019"] = int(rng.integers(5, 40))
            records.append(rec)
    lsoas = gpd.GeoDataFrame(records, geometry="geometry", crs=27700)
    display = lsoas[["lsoa11_code", "authority_code", "in_authority", "geometry"]].to_crs(4326)
    display["geometry"] = display.geometry.set_precision(1e-5)
    own = lsoas[lsoas["in_authority"]].reset_index(drop=True)
    schools = gpd.GeoDataFrame(
        {
            "urn": [100001, 100002, 100003, 100004, 100005],
            "school_name": ["Alpha Primary School", "Beta Primary School", "Gamma Academy", "Delta School (all-through)", "Closed Primary"],
            "phase": ["primary", "primary", "secondary", "all-through", "primary"],
            "establishment_type": ["Community school", "Academy converter", "Academy sponsor led", "Free school", "Community school"],
            "is_state_funded": [True, True, True, True, True],
            "is_open": [True, True, True, True, False],
            "pupils_2019": [420.0, 200.0, 1100.0, 900.0, np.nan],
            "capacity_2015": [420.0, 315.0, 1000.0, np.nan, 210.0],
            "ofsted_rating": ["Good", "Outstanding", "Requires improvement", None, None],
            "ks2_rwm_expected_pct": [71.0, 80.0, np.nan, 60.0, np.nan],
            "ks4_attainment8": [np.nan, np.nan, 47.3, 44.0, np.nan],
            "ks4_progress8": [np.nan, np.nan, 0.12, -0.3, np.nan],
            "postcode": ["NW1 1AA", "NW1 2BB", "NW3 3CC", "NW5 4DD", "NW1 9ZZ"],
            "lsoa11_code": [own["lsoa11_code"].iloc[i] for i in (0, 4, 8, 2, 6)],
        },
        geometry=[Point(own.geometry.iloc[i].centroid) for i in (0, 4, 8, 2, 6)],
        crs=27700,
    )
    schools["easting"] = schools.geometry.x
    schools["northing"] = schools.geometry.y
    flows = []
    all_codes = lsoas["lsoa11_code"].tolist()
    # secondary school 100003: observed flows, some under 3 (suppressed) and one from outside
    for idx, pupils in zip(range(0, 25, 2), [12, 40, 2, 7, 1, 30, 22, 9, 5, 4, 3, 18, 6]):
        flows.append({"urn": 100003, "lsoa11_code": all_codes[idx], "phase": "secondary", "pupils": float(pupils), "source": "observed", "distance_km": 0.4 + idx * 0.1})
    # primary school 100001: modelled flows
    for idx, pupils in zip(range(6, 19), [5.4, 12.2, 0.7, 30.1, 8.8, 2.2, 14.6, 3.3, 9.9, 1.1, 6.6, 0.2, 11.0]):
        flows.append({"urn": 100001, "lsoa11_code": all_codes[idx], "phase": "primary", "pupils": pupils, "source": "modelled", "distance_km": 0.2 + idx * 0.05})
    # all-through 100004: both phases, modelled
    for idx in range(6, 12):
        flows.append({"urn": 100004, "lsoa11_code": all_codes[idx], "phase": "primary", "pupils": 4.0 + idx, "source": "modelled", "distance_km": 0.5})
        flows.append({"urn": 100004, "lsoa11_code": all_codes[idx], "phase": "secondary", "pupils": 2.0 + idx, "source": "modelled", "distance_km": 0.6})
    flows = pd.DataFrame(flows)
    return AuthorityData(
        code=code,
        name=name,
        region_name=row["region_name"].iloc[0],
        info={"authority_code": code, "authority_name": name},
        boundary=gpd.GeoDataFrame({"authority_code": [code]}, geometry=[own.union_all()], crs=27700),
        lsoas=lsoas,
        lsoas_display=display,
        schools=schools,
        flows=flows,
    )


def resolve(text) -> str:
    """Resolve a code or name of the fake authorities (raises UnknownAuthority)."""
    value = str(text).strip()
    for row in AUTHORITIES.itertuples():
        if value.upper() == row.authority_code or value.casefold() == row.authority_name.casefold():
            return row.authority_code
    raise UnknownAuthority(f"unknown authority {value!r}: not one of the test authorities")


def make_app(**kwargs):
    """Return an AtlasApp on the fake Testborough, switching among the fake authorities."""
    from atlaskit.app import AtlasApp

    kwargs.setdefault("basemap", False)
    return AtlasApp(make_authority(), AUTHORITIES, loader=make_authority, resolver=resolve, **kwargs)

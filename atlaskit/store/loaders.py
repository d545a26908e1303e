"""Load one authority's tables from the store, fast, for notebooks, the app and reports.

    >>> import atlaskit
    >>> kent = atlaskit.load("E10000016")          # or load("Kent"), load("886")
    >>> kent.lsoas.shape, kent.schools.shape        # doctest: +SKIP

Reads only the authority's row groups (GeoParquet filtered on ``authority_code``) plus the
LSOAs just outside its border that lie within ``buffer_km`` of it or send pupils to its schools.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from atlaskit import store
from atlaskit.errors import StoreMissing, UnknownAuthority
from atlaskit.store.geography import current_authority_codes
from atlaskit.vocabulary import URN_DTYPE

__all__ = ["AuthorityData", "authorities", "resolve_authority", "load"]

#: A neighbouring LSOA is loaded as a feeder of the authority's schools when it sends at least this
#: many pupils to one of them (modelled estimates are shown rounded, so 0.5 shows as 1).
MIN_FEEDER_PUPILS = 0.5

#: Columns of the cached LSOA table: which LSOAs an authority holds, and which lie near it.
_CENTROID_COLUMNS = ["lsoa11_code", "authority_code", "easting", "northing"]

AUTHORITY_COLUMNS = [
    "authority_code",
    "authority_name",
    "authority_type",
    "region_code",
    "region_name",
    "la_number",
    "n_lsoas",
    "n_schools",
]


def authorities(store_dir: Path | None = None) -> pd.DataFrame:
    """Return the 153 education authorities (no geometry), sorted by name.

    Returns:
        DataFrame with authority_code, authority_name, authority_type, region_code, region_name,
        la_number, n_lsoas, n_schools (open state-funded schools), where built.

    Raises:
        StoreMissing: the store has not been built (run ``atlas build``).
    """
    frame = store.cached_table("authorities", store_dir=store_dir)
    columns = [c for c in AUTHORITY_COLUMNS if c in frame.columns]
    return pd.DataFrame(frame[columns]).sort_values("authority_name").reset_index(drop=True)


def resolve_authority(text: str | int, store_dir: Path | None = None) -> str:
    """Return the current education-authority code for a code, old code, DfE number or name.

    Args:
        text: an ONS code (``"E10000016"``), a retired code (``"E10000002"`` Buckinghamshire
            county), a DfE 3-digit LA number (``886`` or ``"886"``) or a name (``"kent"``).

    Returns:
        The current ONS code of one of the 153 education authorities.

    Raises:
        UnknownAuthority: no authority matches, or an old code that split (Northamptonshire)
            matches several; the message lists the closest codes and names.
    """
    value = str(text).strip()
    if not value:
        raise UnknownAuthority("no authority given: pass an ONS code such as E09000007 or a name such as Camden")
    table = store.cached_table("authorities", columns=["authority_code", "authority_name"], store_dir=store_dir)
    if value.upper() in set(table["authority_code"]):
        return value.upper()
    try:
        codes = store.cached_table("authority_codes", columns=["code", "authority_code"], store_dir=store_dir)
    except StoreMissing:  # a store built before the authority_codes table: current codes only
        codes = pd.DataFrame({"code": table["authority_code"], "authority_code": table["authority_code"]})
    targets = current_authority_codes(value, codes, table)
    if len(targets) > 1:
        names = table.set_index("authority_code")["authority_name"]
        listed = ", ".join(f"{t} {names.get(t, '')}".strip() for t in targets)
        raise UnknownAuthority(f"{value!r} is an old code that now covers several authorities: {listed}. Choose one.", successors=targets)
    return targets[0]


@dataclass(frozen=True)
class AuthorityData:
    """One authority's tables, as read from the store.

    Attributes:
        code: current ONS code (E06/E08/E09/E10).
        name: authority name.
        region_name: region (London, South East...).
        info: the authority's row of the ``authorities`` table (dict).
        boundary: GeoDataFrame, one row, EPSG:27700.
        lsoas: GeoDataFrame EPSG:27700 of the authority's LSOAs plus neighbours within
            ``buffer_km`` or sending pupils to its schools; ``in_authority`` marks its own.
        lsoas_display: the same LSOAs simplified, EPSG:4326, 5 decimals (for maps).
        schools: GeoDataFrame EPSG:27700 of the schools in the authority (all statuses and types).
        flows: flows (observed and modelled) into its schools or out of its LSOAs:
            urn, lsoa11_code, phase, pupils, source, distance_km (empty when not built).
        buffer_km: the buffer used, km.
    """

    code: str
    name: str
    region_name: str
    info: dict
    boundary: pd.DataFrame
    lsoas: pd.DataFrame
    lsoas_display: pd.DataFrame
    schools: pd.DataFrame
    flows: pd.DataFrame
    buffer_km: float = 2.0
    extras: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        own = int(self.lsoas["in_authority"].sum()) if "in_authority" in self.lsoas else len(self.lsoas)
        return (
            f"AuthorityData({self.code} {self.name}: {own} LSOAs (+{len(self.lsoas) - own} within {self.buffer_km} km "
            f"or sending pupils), {len(self.schools)} schools, {len(self.flows)} flows)"
        )


def _has_table(name: str, store_dir: Path | None) -> bool:
    try:
        store.table_path(name, store_dir)
        return True
    except StoreMissing:
        return False


def _empty_flows() -> pd.DataFrame:
    """Return an empty flows table with the store's columns (before the flows step has run)."""
    return pd.DataFrame(
        {
            "urn": pd.Series(dtype=URN_DTYPE),
            "lsoa11_code": pd.Series(dtype="string"),
            "phase": pd.Series(dtype="string"),
            "pupils": pd.Series(dtype="float64"),
            "source": pd.Series(dtype="string"),
            "distance_km": pd.Series(dtype="float64"),
        }
    )


def _neighbour_lsoas(authority_code: str, outline, buffer_km: float, store_dir: Path | None) -> list[str]:
    """Return the codes of LSOAs outside the authority whose centroid lies within ``buffer_km`` of its boundary."""
    if buffer_km <= 0:
        return []
    import shapely

    centroids = store.cached_table("lsoas", columns=_CENTROID_COLUMNS, store_dir=store_dir)
    pad = buffer_km * 1000.0
    minx, miny, maxx, maxy = outline.bounds
    x, y = centroids["easting"].to_numpy(), centroids["northing"].to_numpy()
    box = (x >= minx - pad) & (x <= maxx + pad) & (y >= miny - pad) & (y <= maxy + pad)
    box &= (centroids["authority_code"] != authority_code).to_numpy()
    candidates = centroids[box]
    if candidates.empty:
        return []
    shapely.prepare(outline)
    close = shapely.dwithin(outline, shapely.points(candidates["easting"].to_numpy(), candidates["northing"].to_numpy()), pad)
    return candidates.loc[close, "lsoa11_code"].tolist()


def load(code: str | int, buffer_km: float = 2.0, store_dir: Path | None = None) -> AuthorityData:
    """Return one authority's LSOAs, schools and flows from the store, in well under a second.

    Args:
        code: the authority (code, old code, DfE number or name; see :func:`resolve_authority`).
        buffer_km: also return LSOAs whose centroid lies within this distance (km) of the
            authority's boundary; LSOAs that send pupils to its schools (observed, or a modelled
            estimate of at least :data:`MIN_FEEDER_PUPILS`) are always included.
        store_dir: store folder (default ``config.store_dir()``).

    Returns:
        An :class:`AuthorityData`.

    Raises:
        UnknownAuthority: the code matches no authority (with suggestions).
        StoreMissing: the store has not been built.
        ValueError: a negative buffer.
    """
    if buffer_km < 0:
        raise ValueError(f"buffer_km must be >= 0 km, got {buffer_km}")
    authority_code = resolve_authority(code, store_dir)
    has_flows = _has_table("flows", store_dir)
    # pyarrow releases the GIL: the independent reads run side by side, in two waves
    # the authority's own LSOAs, in file order, from the cached centroid table (no read needed)
    centroids = store.cached_table("lsoas", columns=_CENTROID_COLUMNS, store_dir=store_dir)
    own_codes = centroids.loc[(centroids["authority_code"] == authority_code).to_numpy(), "lsoa11_code"].tolist()
    # pyarrow releases the GIL: the independent reads run side by side, in two waves
    with ThreadPoolExecutor(max_workers=3) as pool:
        f_boundary = pool.submit(store.read_rows, "authorities", "authority_code", [authority_code], None, store_dir)
        f_schools = pool.submit(store.read_rows, "schools", "authority_code", [authority_code], None, store_dir)
        if has_flows:
            # flows sorted by the school's authority (into its schools) and by the area's (out of its LSOAs)
            f_into = pool.submit(store.read_rows, "flows", "school_authority_code", [authority_code], None, store_dir)
            f_out = pool.submit(store.read_rows, "flows_across_borders", "lsoa_authority_code", [authority_code], None, store_dir)
        boundary = f_boundary.result()
        if has_flows:
            into, out_of = f_into.result(), f_out.result()
            flows = pd.concat([into, out_of], ignore_index=True)
            # feeders: areas with observed pupils, or a modelled estimate that rounds to 1 pupil or more
            # (smaller estimates are shown as 0, so their polygons are not needed); observed flows
            # keep one row per school for its suppressed remainder, with no LSOA: not an area
            shown = (into["source"] == "observed").to_numpy() | (into["pupils"].to_numpy() >= MIN_FEEDER_PUPILS)
            feeding = set(into.loc[shown, "lsoa11_code"].dropna().unique().tolist()) - set(own_codes)
        else:
            flows, feeding = _empty_flows(), set()
        neighbour_codes = sorted(set(_neighbour_lsoas(authority_code, boundary.geometry.iloc[0], buffer_km, store_dir)) | feeding)
        wanted = own_codes + neighbour_codes
        f_lsoas = pool.submit(store.read_rows, "lsoas", "lsoa11_code", wanted, None, store_dir)
        f_display = pool.submit(store.read_rows, "lsoas_display", "lsoa11_code", wanted, None, store_dir)
        schools, lsoas, display = f_schools.result(), f_lsoas.result(), f_display.result()
    # the authority's own LSOAs first, then the others, each in file order
    own = (lsoas["authority_code"] == authority_code).to_numpy(dtype=bool)
    lsoas = pd.concat([lsoas[own], lsoas[~own]], ignore_index=True).assign(in_authority=np.sort(own)[::-1])
    display = display.assign(in_authority=(display["authority_code"] == authority_code).to_numpy(dtype=bool))
    info = {k: v for k, v in boundary.drop(columns=boundary.geometry.name).iloc[0].items()}
    return AuthorityData(
        code=authority_code,
        name=str(info.get("authority_name", authority_code)),
        region_name=str(info.get("region_name", "")),
        info=info,
        boundary=boundary,
        lsoas=lsoas,
        lsoas_display=display,
        schools=schools.reset_index(drop=True),
        flows=flows.reset_index(drop=True),
        buffer_km=buffer_km,
    )

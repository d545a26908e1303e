"""Where each public data set comes from, and how to find and verify its local files.

Every data set the Atlas uses has one :class:`DataSet` entry in :data:`DATASETS`: its official
publisher's page, the files that make it up (relative to ``ATLAS_DATA_DIR``), and its licence
and attribution line. Checksums and origins come from ``manifest.csv`` (a copy of
``atlas-data/MANIFEST.csv`` shipped with the package, so a user without the data folder can fetch
and verify the same files).

Readers for each data set live in the sub-modules (``atlaskit.sources.geography``,
``.population``, ``.deprivation``, ``.schools``, ``.planning``, ``.flows``); they call
:func:`resolve` to locate and verify a file before reading it.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from atlaskit import config
from atlaskit.errors import ChecksumMismatch, DataFileMissing

OGL = "Open Government Licence v3.0"

__all__ = [
    "DATASETS",
    "DataSet",
    "ManifestEntry",
    "dataset",
    "dataset_for_file",
    "manifest",
    "resolve",
    "sha256_of",
    "missing_by_dataset",
]


@dataclass(frozen=True)
class ManifestEntry:
    """One file of the manifest: relative path, size in bytes, sha256 and origin."""

    file: str
    bytes: int
    sha256: str
    kind: str
    source_repo: str
    source_path: str
    source_commit: str
    publisher: str

    @property
    def origin_url(self) -> str | None:
        """Return the address the file was copied from, when the manifest names a repository and commit."""
        if self.source_repo and "/" in self.source_repo and not self.source_repo.startswith("pypi:") and self.source_commit:
            return f"https://raw.githubusercontent.com/{self.source_repo}/{self.source_commit}/{self.source_path}"
        return None


@dataclass(frozen=True)
class DataSet:
    """One public data set: what it is, who publishes it, where to get it, which files it has.

    Attributes:
        key: short identifier used in code and messages (``"lsoa_boundaries"``).
        title: human title.
        files: file patterns relative to ``ATLAS_DATA_DIR`` (``fnmatch`` globs allowed).
        page: the publisher's official page for the data set (where a user downloads it).
        publisher: the attribution line (publisher, licence, copyright notices).
        vintage: the period the data describe (``"mid-2019"``, ``"January 2015"``).
        licence: licence name.
    """

    key: str
    title: str
    files: tuple[str, ...]
    page: str
    publisher: str
    vintage: str
    licence: str = OGL

    def entries(self) -> list[ManifestEntry]:
        """Return the manifest entries of this data set's files, in manifest order."""
        return [e for e in manifest().values() if any(fnmatch.fnmatch(e.file, p) for p in self.files)]


_ONS = "Office for National Statistics (OGL v3; contains OS data (c) Crown copyright and database right)"
_DFE = "Department for Education (OGL v3)"
_MHCLG = "Ministry of Housing, Communities and Local Government, English indices of deprivation 2019 (OGL v3)"

#: Every data set the Atlas reads, by key.
DATASETS: dict[str, DataSet] = {
    d.key: d
    for d in [
        DataSet(
            "lsoa_boundaries",
            "LSOA (December 2011) boundaries, one GeoJSON per current district",
            ("geography/lsoa11/*.geojson",),
            "https://geoportal.statistics.gov.uk/datasets/ons::lower-layer-super-output-areas-december-2011-boundaries-super-generalised-clipped-bsc-ew-v3",
            _ONS,
            "2011 boundaries, current (2023) districts",
        ),
        DataSet(
            "lsoa_lookup",
            "LSOA 2011 to current district, upper-tier authority and region",
            ("geography/lsoa11_to_current_lad_utla_england.csv",),
            "https://geoportal.statistics.gov.uk/search?q=LUP_LSOA_LAD",
            _ONS,
            "2023 codes",
        ),
        DataSet(
            "authority_codes",
            "Local authority district, upper-tier and region codes with retired codes mapped to current",
            ("geography/la_all_codes.csv", "geography/utla_all_codes.csv", "geography/rgn_all_codes.csv"),
            "https://geoportal.statistics.gov.uk/search?q=LUP_LAD_UTLA",
            _ONS,
            "2018-2023",
        ),
        DataSet(
            "authority_changes",
            "Authority code changes 2018-2025",
            ("geography/authority_changes.csv",),
            "https://github.com/ONSvisual/uk-topojson",
            _ONS,
            "2018-2025",
        ),
        DataSet(
            "authority_boundaries",
            "UK administrative boundaries (TopoJSON, districts, counties/unitaries, regions)",
            ("geography/authorities.topo.json",),
            "https://github.com/ONSvisual/uk-topojson",
            _ONS,
            "2018-2025",
        ),
        DataSet(
            "lsoa11_lsoa21_lookup",
            "LSOA 2011 to LSOA 2021 to district 2022 lookup",
            ("geography/lsoa11_to_lsoa21_to_lad22_lookup.csv",),
            "https://geoportal.statistics.gov.uk/datasets/ons::lsoa-2011-to-lsoa-2021-to-local-authority-district-2022-lookup-for-england-and-wales-version-2",
            _ONS,
            "2022",
        ),
        DataSet(
            "lsoa21_centroids",
            "LSOA 2021 population-weighted centroids",
            ("geography/lsoa21_population_weighted_centroids.csv",),
            "https://geoportal.statistics.gov.uk/datasets/ons::lsoa-dec-2021-pwc-for-england-and-wales",
            _ONS,
            "Census 2021",
        ),
        DataSet(
            "rural_urban",
            "Rural-urban classification 2011 of LSOAs",
            ("geography/lsoa11_rural_urban_classification.csv",),
            "https://www.gov.uk/government/statistics/2011-rural-urban-classification-of-lower-layer-super-output-areas-in-england-and-wales",
            _ONS,
            "Census 2011",
        ),
        DataSet(
            "postcodes",
            "OS Code-Point Open (postcode unit locations)",
            ("geography/codepo_gb.zip",),
            "https://osdatahub.os.uk/downloads/open/CodePointOpen",
            "Ordnance Survey, Code-Point Open (OGL v3; contains OS data (c) Crown copyright and database right; "
            "Royal Mail data (c) Royal Mail copyright and database right; National Statistics data (c) Crown copyright)",
            "April 2025",
        ),
        DataSet(
            "lsoa_population",
            "LSOA mid-year population estimates, children by single year of age 0-18",
            ("population/lsoa11_population_age0to18_mid20*_england.csv",),
            "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets/lowersuperoutputareamidyearpopulationestimates",
            _ONS,
            "mid-2019 and mid-2020",
        ),
        DataSet(
            "la_population",
            "Local authority mid-year population estimates by single year of age",
            ("population/la_population_by_age_mid20*.csv",),
            "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets/populationestimatesforukenglandandwalesscotlandandnorthernireland",
            _ONS,
            "mid-2019 and mid-2020",
        ),
        DataSet(
            "deprivation",
            "English indices of deprivation 2019 (IMD, domains, IDACI, denominators)",
            ("deprivation/*",),
            "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019",
            _MHCLG,
            "2019",
        ),
        DataSet(
            "school_capacity_2015",
            "School capacity (SCAP) 2015, underlying data UD1",
            ("schools/2015_capacity_and_forecast_underlying_data_UD1.xlsx",),
            "https://www.gov.uk/government/statistics/school-capacity-academic-year-2014-to-2015",
            _DFE,
            "May 2015",
        ),
        DataSet(
            "school_spine",
            "School performance tables: England school information (spine) 2017-18",
            ("schools/2017-2018_england_spine.xlsx",),
            "https://www.compare-school-performance.service.gov.uk/download-data",
            _DFE,
            "2017-18",
        ),
        DataSet(
            "school_postcodes",
            "Get Information about Schools: state-funded schools with postcodes",
            ("schools/school_postcode.csv",),
            "https://get-information-schools.service.gov.uk/Downloads",
            _DFE,
            "about 2013",
        ),
        DataSet(
            "school_census",
            "School performance tables: pupils on roll and characteristics (census)",
            ("schools/performance_tables_2018-2019/england_census.csv",),
            "https://www.compare-school-performance.service.gov.uk/download-data",
            _DFE,
            "January 2019",
        ),
        DataSet(
            "london_schools_atlas_schools",
            "London Schools Atlas: schools with coordinates",
            ("schools/all_schools_xy_2016.csv",),
            "https://data.london.gov.uk/dataset/london-schools-atlas",
            "Greater London Authority, London Schools Atlas (OGL v3)",
            "2016",
        ),
        DataSet(
            "ks2_results",
            "Key stage 2 results by school",
            ("schools/ks2_perf_2018.csv",),
            "https://www.compare-school-performance.service.gov.uk/download-data",
            _DFE,
            "2018",
        ),
        DataSet(
            "ks4_results",
            "Key stage 4 results by school",
            ("schools/ks4_perf_2018.csv",),
            "https://www.compare-school-performance.service.gov.uk/download-data",
            _DFE,
            "2018",
        ),
        DataSet(
            "ofsted",
            "Ofsted inspection outcomes for state-funded schools",
            ("schools/ofsted_ratings_2018.csv",),
            "https://www.gov.uk/government/statistical-data-sets/monthly-management-information-ofsteds-school-inspections-outcomes",
            "Ofsted (OGL v3)",
            "2005-2020",
        ),
        DataSet(
            "school_links",
            "Get Information about Schools: links between schools (predecessor/successor URNs)",
            ("schools/links_edubasealldata20250422.csv", "schools/edubasealldata20250422-establishment-types.csv"),
            "https://get-information-schools.service.gov.uk/Downloads",
            _DFE,
            "22 April 2025",
        ),
        DataSet(
            "scorecard",
            "Local authority school places scorecards",
            ("planning/scorecard_data_2025_2023.csv", "planning/scorecard_metadata.csv"),
            "https://explore-education-statistics.service.gov.uk/find-statistics/local-authority-school-places-scorecards",
            _DFE,
            "2022/23-2024/25",
        ),
        DataSet(
            "lsa_flows",
            "London Schools Atlas: secondary school to LSOA pupil flows (21 boroughs)",
            ("flows/lsa_secondary_flows_2015_21_boroughs.csv",),
            "https://data.london.gov.uk/dataset/london-schools-atlas",
            "Greater London Authority, London Schools Atlas, from the National Pupil Database January 2015 census; "
            "flows under 3 pupils suppressed (OGL v3)",
            "January 2015",
        ),
        DataSet(
            "cross_border",
            "Schools, pupils and their characteristics: cross-border movement (6 inner London authorities)",
            ("flows/cross_border_6_inner_london_las_2019_2024.csv",),
            "https://explore-education-statistics.service.gov.uk/find-statistics/school-pupils-and-their-characteristics",
            _DFE,
            "2019/20-2023/24",
        ),
    ]
}


@lru_cache(maxsize=1)
def manifest() -> dict[str, ManifestEntry]:
    """Return the packaged manifest: every data file by its path relative to ``ATLAS_DATA_DIR``."""
    path = Path(__file__).with_name("manifest.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            row["file"]: ManifestEntry(
                file=row["file"],
                bytes=int(row["bytes"]),
                sha256=row["sha256"],
                kind=row["kind"],
                source_repo=row["source_repo"],
                source_path=row["source_path"],
                source_commit=row["source_commit"],
                publisher=row["publisher"],
            )
            for row in csv.DictReader(handle)
        }


def dataset(key: str) -> DataSet:
    """Return the data set registered under ``key``.

    Raises:
        KeyError: naming the known keys when ``key`` is not one.
    """
    try:
        return DATASETS[key]
    except KeyError:
        raise KeyError(f"no data set {key!r}; known: {', '.join(sorted(DATASETS))}") from None


def dataset_for_file(relpath: str) -> DataSet | None:
    """Return the data set a file (relative to ``ATLAS_DATA_DIR``) belongs to, or None."""
    for ds in DATASETS.values():
        if any(fnmatch.fnmatch(relpath, p) for p in ds.files):
            return ds
    return None


def sha256_of(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


_VERIFIED: dict[tuple[str, int, float], str] = {}


def _data_folder(data_dir: Path | None) -> Path:
    """Return the data folder, raising DataFileMissing when it names a file (not 24 data sets "missing")."""
    base = Path(data_dir) if data_dir is not None else config.data_dir()
    if base.exists() and not base.is_dir():
        raise DataFileMissing(
            f"the data folder {base} (ATLAS_DATA_DIR or --data-dir) is a file, not a folder: "
            "set it to the folder holding the data sets (e.g. ../shared/atlas-data), or run `atlas fetch` to download them"
        )
    return base


def resolve(relpath: str, data_dir: Path | None = None, verify: bool = True) -> Path:
    """Return the local path of a data file, checking it exists and matches the manifest checksum.

    Args:
        relpath: path relative to ``ATLAS_DATA_DIR`` (``"schools/ks2_perf_2018.csv"``).
        data_dir: the data folder; defaults to :func:`atlaskit.config.data_dir`.
        verify: compare the file's sha256 with the manifest (cached per size and mtime).

    Returns:
        The absolute path.

    Raises:
        DataFileMissing: the file is absent; the message names the data set and its download page.
        ChecksumMismatch: the file differs from the published one (truncated or altered).
        DataFileMissing: also when the data folder is a file.
    """
    base = _data_folder(data_dir)
    path = base / relpath
    ds = dataset_for_file(relpath)
    if not path.is_file():
        where = f" ({ds.title}; download from {ds.page}, or run `atlas fetch`)" if ds else ""
        raise DataFileMissing(f"missing data file {path}{where}. Set ATLAS_DATA_DIR to the folder holding it.")
    entry = manifest().get(relpath)
    if verify and entry is not None:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime)
        if key not in _VERIFIED:
            if stat.st_size != entry.bytes:
                raise ChecksumMismatch(
                    f"data file {path} is {stat.st_size:,} bytes, expected {entry.bytes:,} (truncated or altered): "
                    f"download it again with `atlas fetch`" + (f" or from {ds.page}" if ds else "")
                )
            digest = sha256_of(path)
            if digest != entry.sha256:
                raise ChecksumMismatch(
                    f"data file {path} has sha256 {digest[:12]}..., expected {entry.sha256[:12]}... (altered or corrupted): "
                    f"download it again with `atlas fetch`" + (f" or from {ds.page}" if ds else "")
                )
            _VERIFIED[key] = digest
    return path


def missing_by_dataset(data_dir: Path | None = None) -> list[str]:
    """Return one line per data set with files missing from the data folder, naming them and the download page.

    Args:
        data_dir: the data folder; defaults to :func:`atlaskit.config.data_dir`.

    Returns:
        Lines such as ``"<title> [<key>]: 296 file(s) missing: geography/lsoa11/E06000001.geojson, ... and 293 more;
        download from https://..."``; empty when nothing is missing.

    Raises:
        DataFileMissing: the data folder is a file (named).
    """
    base = _data_folder(data_dir)
    lines: list[str] = []
    for ds in DATASETS.values():
        absent = [e.file for e in ds.entries() if not (base / e.file).is_file()]
        if absent:
            shown = ", ".join(absent[:3]) + (f" and {len(absent) - 3} more" if len(absent) > 3 else "")
            lines.append(f"{ds.title} [{ds.key}]: {len(absent)} file(s) missing: {shown}; download from {ds.page}")
    return lines

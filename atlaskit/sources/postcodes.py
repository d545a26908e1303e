"""Reader of OS Code-Point Open postcode locations (``ATLAS_DATA_DIR/geography/codepo_gb.zip``).

One header-less CSV per postcode area; only postcode, quality, easting and northing are parsed.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from atlaskit.errors import DataFormatError
from atlaskit.sources import resolve
from atlaskit.sources.parsing import normalise_postcode

__all__ = ["CODEPOINT", "read_codepoint"]

CODEPOINT = "geography/codepo_gb.zip"

_CODEPOINT_COLUMNS = ["PC", "PQ", "EA", "NO", "CY", "RH", "LH", "CC", "DC", "WC"]


def read_codepoint(data_dir: Path | None = None, postcodes: pd.Series | None = None, verify: bool = True) -> pd.DataFrame:
    """Read OS Code-Point Open postcode locations (postcode unit centroids, EPSG:27700 metres).

    Reads every ``Data/CSV/*.csv`` member of the zip with pyarrow, only the postcode, quality,
    easting and northing columns.

    Args:
        data_dir: raw data folder (default ``config.data_dir()``).
        postcodes: if given, keep only these postcodes (any spacing or case); only their
            postcode areas' files are parsed.
        verify: check the file's sha256 against the manifest.

    Returns:
        postcode (normalised ``"AB10 1AB"``), positional_quality (10 best ... 60; 90 means no
        coordinates), easting, northing (Float; NaN where quality is 90). One row per postcode.

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: the zip has no ``Data/CSV`` files or their columns are not as documented.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    path = resolve(CODEPOINT, data_dir, verify)
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(n for n in archive.namelist() if n.startswith("Data/CSV/") and n.lower().endswith(".csv"))
            if not members:
                raise DataFormatError(f"{CODEPOINT}: no Data/CSV/*.csv members; is this the Code-Point Open CSV download?")
            if postcodes is not None:  # only the postcode areas asked for (one file per area: ab.csv, b.csv...)
                areas = set(postcodes.dropna().astype(str).str.upper().str.extract(r"^\s*([A-Z]{1,2})\d", expand=False).dropna().str.lower())
                members = [n for n in members if n[len("Data/CSV/") : -len(".csv")].lower() in areas]
            header_name = next((n for n in archive.namelist() if n.endswith("Code-Point_Open_Column_Headers.csv")), None)
            if header_name:
                short = archive.read(header_name).decode("utf-8-sig").splitlines()[0].split(",")
                if [s.strip() for s in short[:4]] != _CODEPOINT_COLUMNS[:4]:
                    raise DataFormatError(f"{CODEPOINT}: column headers {short[:4]} are not {_CODEPOINT_COLUMNS[:4]}")
            blob = b"".join(archive.read(n).rstrip(b"\r\n") + b"\n" for n in members)
        if not members:
            return pd.DataFrame({"postcode": pd.Series(dtype="string"), "positional_quality": pd.Series(dtype="Int64"),
                                 "easting": pd.Series(dtype="float64"), "northing": pd.Series(dtype="float64")})  # fmt: skip
    except zipfile.BadZipFile as exc:
        raise DataFormatError(f"{CODEPOINT}: not a readable zip ({exc}); download it again") from exc
    try:
        table = pacsv.read_csv(
            io.BytesIO(blob),
            read_options=pacsv.ReadOptions(column_names=_CODEPOINT_COLUMNS),
            convert_options=pacsv.ConvertOptions(
                include_columns=["PC", "PQ", "EA", "NO"],
                column_types={"PC": pa.string(), "PQ": pa.int32(), "EA": pa.float64(), "NO": pa.float64()},
            ),
        )
    except pa.ArrowInvalid as exc:
        raise DataFormatError(f"{CODEPOINT}: postcode files not in the documented layout ({exc})") from exc
    compact = pc.utf8_upper(pc.replace_substring(table["PC"], " ", ""))
    if postcodes is not None:
        wanted = pa.array(postcodes.dropna().astype(str).str.upper().str.replace(r"\s+", "", regex=True).unique())
        keep = pc.is_in(compact, value_set=wanted)
        table, compact = table.filter(keep), compact.filter(keep)
    frame = pd.DataFrame(
        {
            "postcode": normalise_postcode(pd.Series(compact.to_numpy(zero_copy_only=False), dtype="string")),
            "positional_quality": pd.Series(table["PQ"].to_numpy(zero_copy_only=False)).astype("Int64"),
            "easting": table["EA"].to_numpy(zero_copy_only=False),
            "northing": table["NO"].to_numpy(zero_copy_only=False),
        }
    )
    no_coords = frame["positional_quality"].eq(90).fillna(False) | ((frame["easting"] == 0) & (frame["northing"] == 0))
    frame.loc[no_coords, ["easting", "northing"]] = np.nan
    return frame.drop_duplicates("postcode").reset_index(drop=True)

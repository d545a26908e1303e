"""Shared parsing of the quirks real official files contain.

Byte-order marks, cp1252 text, thousands separators, suppression markers, percentages as text
and Excel-mangled age ranges. Every reader in ``atlaskit.sources`` uses these instead of its own.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from atlaskit.errors import DataFormatError
from atlaskit.vocabulary import URN_DTYPE

#: Markers official statistics use for a value that is missing, suppressed or not applicable.
#: ``x`` not available, ``c`` confidential (suppressed), ``z`` not applicable, ``SUPP`` suppressed,
#: ``NA`` not available, ``LOWCOV`` low coverage, ``NOT AVAIL`` not available, ``NE`` no entries,
#: ``SP`` small percentage, ``..``/``:`` not available. Empty text is missing with no marker.
MARKERS: frozenset[str] = frozenset(
    {"x", "c", "z", "SUPP", "NA", "N/A", "LOWCOV", "NOT AVAIL", "NE", "SP", "NP", "..", ":", "-", "NEW", "DNS"}
)


def encoding_problem(raw: bytes) -> str | None:
    """Return why bytes meant as UTF-8 text are not (``"not UTF-8 (looks like UTF-16): re-save as UTF-8"``), or None.

    UTF-16 is recognised by its byte-order mark or by NUL bytes in every other position of the
    first 4 KB (what Excel's "Unicode text" and Windows Notepad's "Unicode" write).

    Args:
        raw: the file's bytes (the first few KB are enough).

    Returns:
        The problem as a phrase for a message, or None when the bytes do not look like UTF-16.
    """
    head = raw[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "not UTF-8 (looks like UTF-16): re-save as UTF-8"
    if b"\0" not in head:
        return None
    half = max(1, len(head) // 2)  # a stray NUL in UTF-8 text is left to the reader
    if max(head[0::2].count(0), head[1::2].count(0)) >= 0.6 * half:  # ASCII text in UTF-16: every other byte NUL
        return "not UTF-8 (looks like UTF-16): re-save as UTF-8"
    return None


def read_text(path: Path, encodings: tuple[str, ...] = ("utf-8-sig", "cp1252")) -> str:
    """Return a text file's contents, trying each encoding in turn (BOM stripped).

    Args:
        path: the file.
        encodings: encodings to try, first that decodes wins. ``utf-8-sig`` strips a BOM.

    Raises:
        DataFormatError: naming the file when no encoding decodes it.
    """
    raw = Path(path).read_bytes()
    problem = encoding_problem(raw)
    if problem:
        raise DataFormatError(f"{path}: {problem}")
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DataFormatError(f"{path}: cannot decode as any of {', '.join(encodings)}")


def read_csv(path: Path, encodings: tuple[str, ...] = ("utf-8-sig", "cp1252"), **kwargs) -> pd.DataFrame:
    """Read a CSV as text columns, handling BOM, CRLF and cp1252; all columns are strings.

    Args:
        path: the file (``.gz`` is decompressed).
        encodings: encodings to try in order.
        **kwargs: passed to :func:`pandas.read_csv` (``usecols``, ``header``...).

    Returns:
        DataFrame of strings (missing cells are ``<NA>``), column names stripped.
    """
    path = Path(path)
    if path.suffix == ".gz":
        import gzip

        raw = gzip.decompress(path.read_bytes())
        problem = encoding_problem(raw)
        if problem:
            raise DataFormatError(f"{path}: {problem}")
        text = None
        for encoding in encodings:
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise DataFormatError(f"{path}: cannot decode as any of {', '.join(encodings)}")
    else:
        text = read_text(path, encodings)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""], **kwargs)
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    return frame


def require_columns(frame: pd.DataFrame, columns: list[str] | tuple[str, ...], source: str) -> None:
    """Raise :class:`DataFormatError` naming the file and the absent columns if any are missing."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataFormatError(
            f"{source}: expected column(s) {', '.join(missing)} not found; it has {', '.join(map(str, frame.columns[:12]))}"
            + ("..." if len(frame.columns) > 12 else "")
        )


_NUMBER_JUNK = re.compile(r"[,\s\u00a0£]")


def parse_number(values: pd.Series, markers: frozenset[str] = MARKERS) -> tuple[pd.Series, pd.Series]:
    """Parse text numbers with thousands separators, percentages and suppression markers.

    ``"1,234"`` -> 1234.0; ``"92%"`` -> 92.0 (a percentage stays in percent units);
    a marker such as ``"x"`` or ``"SUPP"`` -> NaN with the marker in the flag series.

    Args:
        values: text (or already numeric) values.
        markers: the strings that mean "missing"; compared after stripping spaces.

    Returns:
        ``(numbers, marker)``: float64 numbers (NaN where missing) and the marker text
        (``<NA>`` where the value parsed or the cell was empty).

    Raises:
        DataFormatError: naming up to five values that are neither numbers nor markers.
    """
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64"), pd.Series(pd.NA, index=values.index, dtype="string")
    text = values.astype("string").str.strip()
    is_marker = text.isin(markers)
    cleaned = text.where(~is_marker).str.replace(_NUMBER_JUNK, "", regex=True).str.rstrip("%")
    numbers = pd.to_numeric(cleaned, errors="coerce")
    bad = cleaned.notna() & (cleaned != "") & numbers.isna()
    if bad.any():
        examples = ", ".join(repr(v) for v in text[bad].unique()[:5])
        raise DataFormatError(f"column {values.name!r}: {int(bad.sum())} value(s) are neither numbers nor known markers: {examples}")
    marker = text.where(is_marker).astype("string")
    return numbers.astype("float64"), marker


def to_number(values: pd.Series, markers: frozenset[str] = MARKERS) -> pd.Series:
    """Return :func:`parse_number`'s numbers only (markers become NaN)."""
    return parse_number(values, markers)[0]


_MONTHS = {m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}


def fix_age_range(text: str | float | None) -> str | None:
    """Undo Excel's conversion of an age range to a date: ``"11-Mar"`` -> ``"3-11"``, ``"Nov-16"`` -> ``"11-16"``.

    Excel reads ``3-11`` as 11 March and writes it back as ``11-Mar`` (day-month) or ``Mar-11``.
    Ranges that were never mangled (``"11-18"``) pass through; blanks give None.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    value = str(text).strip()
    if not value:
        return None
    parts = value.split("-")
    if len(parts) != 2:
        return value
    a, b = parts[0].strip(), parts[1].strip()
    if a.isdigit() and b[:3].title() in _MONTHS and not b.isdigit():
        low, high = _MONTHS[b[:3].title()], int(a)
    elif b.isdigit() and a[:3].title() in _MONTHS and not a.isdigit():
        low, high = _MONTHS[a[:3].title()], int(b)
    elif a.isdigit() and b.isdigit():
        low, high = int(a), int(b)
    else:
        return value
    if low > high:
        low, high = high, low
    return f"{low}-{high}"


def normalise_postcode(values: pd.Series) -> pd.Series:
    """Return postcodes upper-cased with one space before the inward code (``"ec3a5de"`` -> ``"EC3A 5DE"``)."""
    compact = values.astype("string").str.upper().str.replace(r"\s+", "", regex=True)
    compact = compact.where(compact.str.len().between(5, 7))
    return (compact.str[:-3] + " " + compact.str[-3:]).astype("string")


# ---------------------------------------------------------------------------------------------
# codes, counts, URNs and workbooks of the school files


def to_text(values: pd.Series) -> pd.Series:
    """Return values as stripped pandas strings, with empty text as <NA>."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def to_code(values: pd.Series, width: int | None = None) -> pd.Series:
    """Return integer-like codes (``201``, ``201.0``, ``"201"``) as text, zero-padded to ``width``."""

    def one(value):
        if value is None or value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, float):
            return None if np.isnan(value) else (str(int(value)) if value.is_integer() else str(value))
        return str(value)

    text = to_text(pd.Series([one(v) for v in values], index=values.index, dtype="string"))
    text = text.str.replace(r"\.0$", "", regex=True)
    if width:
        text = text.str.zfill(width)
    return text


def to_whole_number(values: pd.Series, source: str) -> pd.Series:
    """Return whole numbers as nullable Int64 (markers and blanks become <NA>)."""
    numbers = to_number(values.astype("object").astype("string"))
    fractional = numbers.notna() & (numbers % 1 != 0)
    if fractional.any():
        raise DataFormatError(f"{source}: column {values.name!r} holds fractional counts: {numbers[fractional].head(3).tolist()}")
    return numbers.round().astype("Int64")


def read_excel(path: Path, source: str) -> pd.DataFrame:
    """Read the first sheet of an xlsx file (python-calamine), every cell as a Python object, names stripped.

    Raises:
        DataFormatError: the file is not a readable workbook (named with ``source``).
    """
    try:
        frame = pd.read_excel(path, dtype=object, engine="calamine")
    except Exception as exc:  # zip or XML errors from a damaged file
        raise DataFormatError(f"{source}: cannot be read as an Excel workbook ({exc}); download it again") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def parse_urn(values: pd.Series, source: str) -> pd.Series:
    """Return URNs (unique reference numbers of schools, 5-7 digits) as ``int64`` (:data:`atlaskit.vocabulary.URN_DTYPE`).

    Raises:
        DataFormatError: a blank URN, or one that is not 5-7 digits (named with ``source``).
    """
    urn = to_code(values)
    bad = urn.notna() & ~urn.str.fullmatch(r"\d{5,7}")
    if bad.any():
        raise DataFormatError(f"{source}: URN values that are not 5-7 digits: {', '.join(urn[bad].unique()[:5])}")
    if urn.isna().any():
        raise DataFormatError(f"{source}: {int(urn.isna().sum())} row(s) with a blank URN")
    return pd.Series(urn.to_numpy(dtype=object), index=values.index, name=values.name).astype(URN_DTYPE)


def require_unique(frame: pd.DataFrame, column: str, source: str) -> None:
    """Raise :class:`DataFormatError` naming ``source`` when ``column`` repeats a (non-missing) value."""
    dup = frame[column].duplicated(keep=False) & frame[column].notna()
    if dup.any():
        raise DataFormatError(f"{source}: {column} repeated in {int(dup.sum())} rows, e.g. {', '.join(map(str, frame.loc[dup, column].unique()[:5]))}")

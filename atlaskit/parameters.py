"""Per-authority parameter files (``parameters/<CODE>.yaml``): a validated model, loader and writer.

Each education authority has one YAML file named by its ONS code. :func:`load_parameters` reads
one and validates it against :class:`AuthorityParameters`; any problem (an unknown key, a wrong
type, malformed YAML, an empty file, a file name that does not match the code inside) is a
:class:`~atlaskit.errors.ParameterError` naming the file, the key and what is wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from atlaskit import config
from atlaskit.errors import ParameterError, closest
from atlaskit.vocabulary import PHASES, is_open_state_funded, teaches_phase

__all__ = [
    "AUTHORITY_CODE_PATTERN",
    "AuthorityParameters",
    "authority_school_phases",
    "check_parameters",
    "default_phase",
    "load_authority_parameters",
    "load_parameters",
    "parameters_folder",
    "parameters_path",
    "render_parameters",
    "validate_parameters",
    "write_parameters",
]

#: ONS GSS codes of education authorities: E06 unitary, E08 metropolitan, E09 London, E10 county.
AUTHORITY_CODE_PATTERN = r"^(E0[689]\d{6}|E10\d{6})$"

AuthorityCode = Annotated[str, StringConstraints(pattern=AUTHORITY_CODE_PATTERN)]


class AuthorityParameters(BaseModel):
    """The settings of one authority's Atlas views and report (one ``parameters/<CODE>.yaml``).

    Attributes:
        authority: ONS code of the education authority (E06/E08/E09/E10 followed by 6 digits).
        authority_name: the authority's name as shown in reports and the app.
        phase: ``"primary"`` or ``"secondary"``: the phase of the flows and demand shown.
        buffer_km: distance beyond the border (km, >= 0) within which neighbouring LSOAs are included.
        projection_years: years ahead the pupil demand is projected (1-15).
        top_schools: number of schools shown in flow charts and tables (1-20).
        include_flows: include the pupil-flows section.
        include_demand: include the demand-and-places section.
        report_title: the report's title; None for ``"Schools Atlas: <authority_name>"``.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    authority: AuthorityCode
    authority_name: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    phase: Literal[PHASES] = "secondary"  # type: ignore[valid-type]  - Literal of a tuple: each phase
    buffer_km: float = Field(2.0, ge=0)
    projection_years: int = Field(10, ge=1, le=15)
    top_schools: int = Field(6, ge=1, le=20)
    include_flows: bool = True
    include_demand: bool = True
    report_title: str | None = None

    @property
    def title(self) -> str:
        """Return the report title: ``report_title`` or ``"Schools Atlas: <authority_name>"``."""
        return self.report_title or f"Schools Atlas: {self.authority_name}"


#: What each key means, written as the header of every parameter file.
KEY_HELP: dict[str, str] = {
    "authority": "ONS code of the education authority, E06/E08/E09/E10 + 6 digits (= this file's name)",
    "authority_name": "name shown in reports and the app",
    "phase": "primary or secondary: the phase of the flows and demand shown",
    "buffer_km": "km beyond the border within which neighbouring LSOAs are included (>= 0)",
    "projection_years": "years ahead the pupil demand is projected (1-15)",
    "top_schools": "number of schools shown in flow charts and tables (1-20)",
    "include_flows": "true to include the pupil-flows section",
    "include_demand": "true to include the demand-and-places section",
    "report_title": "title of the report; null for 'Schools Atlas: <authority_name>'",
}


def _key_lines(text: str) -> dict[str, int]:
    """Return the 1-based line of each top-level key in a YAML mapping (empty if not a mapping)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}


def _describe(error: dict[str, Any], lines: dict[str, int]) -> str:
    """Turn one pydantic error into a sentence naming the key, its line and what is wrong."""
    fields = list(AuthorityParameters.model_fields)
    key = ".".join(str(p) for p in error["loc"]) or "(top level)"
    where = f" (line {lines[key]})" if key in lines else ""
    kind = error["type"]
    if kind == "extra_forbidden":
        close = closest(key, fields, limit=1, min_score=75)
        hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(fields)}"
        return f"unknown key {key!r}{where}{hint}"
    if kind == "missing":
        return f"missing key {key!r} ({KEY_HELP.get(key, '')})"
    value = error.get("input")
    shown = _shown(value)
    return f"key {key!r}{where}: {error['msg']} (got {shown} of type {type(value).__name__}; expected {KEY_HELP.get(key, 'see the file header')})"


def _shown(value: Any, limit: int = 60) -> str:
    """Return a short description of a value for a message: its repr cut at ``limit`` characters; containers by size only."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple, set)):
        return f"a list of {len(value)} item(s)"
    text = repr(value) if not isinstance(value, str) or len(value) <= limit else repr(value[:limit])
    return text if len(text) <= limit + 2 else text[:limit] + "..."


#: Largest parameter file read, bytes: a real one is under 1 KB.
MAX_FILE_BYTES = 64 * 1024


#: Deepest nesting of ``[`` / ``{`` read; a parameter file needs none (PyYAML's scanner is quadratic in it).
MAX_NESTING = 20


def _reject_deep_nesting(text: str, path: Path) -> None:
    """Raise ParameterError when brackets nest deeper than MAX_NESTING (counted plainly, quotes ignored: a real file has none)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    if deepest > MAX_NESTING:
        raise ParameterError(
            f"parameter file {path} nests values {deepest} levels deep (brackets [ or {{); parameter files hold plain values only: "
            "rewrite it with `atlas parameters --overwrite`"
        )


def _reject_aliases(text: str, path: Path) -> None:
    """Raise ParameterError when the YAML text uses an alias (``*name``), before any value is built.

    Aliases can expand a few lines into gigabytes (a "billion laughs" file); a parameter file
    needs none. Reading events is streaming: nothing is expanded.
    """
    import yaml

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1
            raise ParameterError(
                f"parameter file {path} uses a YAML alias (*{event.anchor[:40]}) at line {line}: parameter files "
                "allow plain values only; write the value itself or rewrite the file with `atlas parameters --overwrite`"
            )


def validate_parameters(data: Any, source: str = "parameters", text: str = "") -> AuthorityParameters:
    """Validate a mapping of parameters, turning every problem into one ParameterError.

    Args:
        data: the parsed YAML (should be a mapping of key -> value).
        source: where the data came from, used in messages (``"parameter file parameters/E09000007.yaml"``).
        text: the YAML text, used to give line numbers of bad keys.

    Returns:
        The validated :class:`AuthorityParameters`.

    Raises:
        ParameterError: naming ``source``, each bad key and what is wrong with it.
    """
    if not isinstance(data, dict):
        raise ParameterError(
            f"{source} must hold a mapping of keys (authority: E09000007, ...), "
            f"not a {type(data).__name__}; rewrite it with `atlas parameters --overwrite`"
        )
    try:
        return AuthorityParameters.model_validate(data)
    except ValidationError as exc:
        lines = _key_lines(text)
        problems = [_describe(e, lines) for e in exc.errors()]
        raise ParameterError(f"{source} has {len(problems)} problem(s):\n  " + "\n  ".join(problems)) from None


def load_parameters(path: str | os.PathLike) -> AuthorityParameters:
    """Read and validate one authority's parameter file.

    Args:
        path: a YAML file, normally ``parameters/<CODE>.yaml``.

    Returns:
        The validated :class:`AuthorityParameters`.

    Raises:
        ParameterError: the file is missing, too big (over 64 KB), not UTF-8 (UTF-16 is named), uses
            YAML aliases (refused before anything is expanded: a "YAML bomb" stays small), is empty
            or malformed YAML (with its line and column),
            holds an unknown key (with a did-you-mean suggestion), a missing key or a value of the
            wrong type, or its name is an authority code other than the ``authority`` inside.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "not found"
        raise ParameterError(f"parameter file {path} {what}; run `atlas parameters` to write one for every authority")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ParameterError(
            f"parameter file {path} is {size:,} bytes; a parameter file is under {MAX_FILE_BYTES // 1024} KB "
            "(about ten keys): rewrite it with `atlas parameters --overwrite`"
        )
    from atlaskit.sources.parsing import encoding_problem

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ParameterError(f"parameter file {path} cannot be read ({exc.strerror})") from None
    problem = encoding_problem(raw)
    if problem:
        raise ParameterError(f"parameter file {path} is {problem}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParameterError(f"parameter file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}): re-save it as UTF-8") from None
    _reject_deep_nesting(text, path)
    try:
        _reject_aliases(text, path)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ParameterError(f"parameter file {path} is not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise ParameterError(f"parameter file {path} nests its values too deeply to read: parameter files hold plain values only") from None
    if data is None:
        raise ParameterError(f"parameter file {path} is empty; write it again with `atlas parameters --overwrite`")
    params = validate_parameters(data, f"parameter file {path}", text)
    if re.fullmatch(r"E\d{8}", path.stem) and path.stem != params.authority:
        raise ParameterError(
            f"parameter file {path} is named for {path.stem} but its key 'authority' is {params.authority}: "
            f"rename the file to {params.authority}{path.suffix} or correct the key"
        )
    return params


def parameters_path(code: str, folder: str | os.PathLike | None = None) -> Path:
    """Return the path of an authority's parameter file (``<folder>/<CODE>.yaml``).

    Args:
        code: ONS code of the authority.
        folder: the parameters folder; defaults to :func:`atlaskit.config.parameters_dir`.

    Returns:
        The path (the file may not exist).
    """
    return _folder(folder) / f"{code}.yaml"


def parameters_folder(folder: str | os.PathLike | None = None) -> Path:
    """Return the parameters folder (default :func:`atlaskit.config.parameters_dir`), which may not exist yet.

    Raises:
        ParameterError: the path is a file, not a folder.
    """
    out = _folder(folder)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"parameters folder {out} is a file, not a folder: give a folder for the parameter files")
    return out


def _folder(folder: str | os.PathLike | None) -> Path:
    """Return ``folder`` as a Path, or the default parameters folder when None."""
    return Path(folder) if folder is not None else config.parameters_dir()


def load_authority_parameters(code: str, folder: str | os.PathLike | None = None) -> AuthorityParameters:
    """Load and validate ``<folder>/<code>.yaml``.

    Args:
        code: ONS code of the authority (``"E09000007"``).
        folder: the parameters folder; defaults to :func:`atlaskit.config.parameters_dir`.

    Returns:
        The validated :class:`AuthorityParameters`.

    Raises:
        ParameterError: as :func:`load_parameters`.
    """
    return load_parameters(parameters_path(code, folder))


def _header(params: AuthorityParameters) -> str:
    """Return the comment header of a parameter file, saying what each key means."""
    width = max(map(len, KEY_HELP))
    lines = [
        f"# Schools Atlas parameters for {params.authority_name} ({params.authority}).",
        "# Read by atlaskit.parameters.load_parameters: an unknown key or a wrong type is an error.",
        "# Check every file with `atlas parameters --check`. Keys:",
    ]
    lines += [f"#   {key.ljust(width)}  {text}" for key, text in KEY_HELP.items()]
    return "\n".join(lines) + "\n"


def render_parameters(params: AuthorityParameters) -> str:
    """Return the YAML text of a parameter file (comment header, then every key in model order)."""
    import yaml

    body = yaml.safe_dump(params.model_dump(), sort_keys=False, allow_unicode=True, default_flow_style=False)
    return _header(params) + body


def default_phase(school_phases: Iterable[str] | None) -> str:
    """Return the phase an authority's parameter file starts with: one it has schools for.

    Args:
        school_phases: the phases (``"primary"``, ``"secondary"``) the authority has open
            state-funded schools for (:func:`authority_school_phases`); None when not known.

    Returns:
        ``"secondary"`` when the authority has secondary schools, or when its schools are not
        known or it has none (the model's default); ``"primary"`` when it has primary schools
        only (the City of London: one primary school, no secondary).
    """
    phases = set(school_phases or ())
    if "secondary" not in phases and "primary" in phases:
        return "primary"
    return "secondary"


def authority_school_phases(store_dir: str | os.PathLike | None = None) -> dict[str, set[str]]:
    """Return the phases each authority has open state-funded schools for, from the store.

    All-through schools count in both phases (:func:`atlaskit.vocabulary.teaches_phase`).

    Args:
        store_dir: store folder (default ``config.store_dir()``).

    Returns:
        ``{authority_code: {"primary", "secondary"}}`` (a subset of the two); authorities with
        no open state-funded primary or secondary school are absent.

    Raises:
        StoreMissing: the store has not been built.
    """
    from atlaskit import store

    schools = store.read_table("schools", columns=["authority_code", "phase", "is_open", "is_state_funded"], store_dir=store_dir)
    schools = schools[is_open_state_funded(schools)]
    out: dict[str, set[str]] = {}
    for phase in PHASES:
        for code in schools.loc[teaches_phase(schools, phase), "authority_code"].unique():
            out.setdefault(str(code), set()).add(phase)
    return out


def write_parameters(
    authorities_df,
    folder: str | os.PathLike | None = None,
    overwrite: bool = False,
    school_phases: Mapping[str, Iterable[str]] | None = None,
) -> list[Path]:
    """Write ``<CODE>.yaml`` with default settings for every authority in a table.

    Args:
        authorities_df: a DataFrame with columns ``authority_code`` and ``authority_name``
            (one row per authority, e.g. :func:`atlaskit.authorities`).
        folder: where to write; defaults to :func:`atlaskit.config.parameters_dir`; created if missing.
        overwrite: rewrite files that exist (otherwise they are kept, with any edits).
        school_phases: the phases each authority has schools for (:func:`authority_school_phases`):
            each file's ``phase`` is :func:`default_phase` of its authority's, so that it shows
            schools. None: every file gets the model's default (secondary).

    Returns:
        The paths written, in table order (files kept are not listed).

    Raises:
        ParameterError: a column is missing, a code is not an authority code, a code repeats, or
            the folder is a file or cannot be created.
    """
    missing = {"authority_code", "authority_name"} - set(authorities_df.columns)
    if missing:
        raise ParameterError(
            f"authorities table lacks column(s) {', '.join(sorted(missing))}; it has {', '.join(map(str, authorities_df.columns))}"
        )
    codes = [str(c) for c in authorities_df["authority_code"]]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        raise ParameterError(f"authorities table lists {', '.join(repeated)} more than once")
    out = parameters_folder(folder)
    records = []
    for code, name in zip(codes, authorities_df["authority_name"]):
        values: dict[str, Any] = {"authority": code, "authority_name": str(name)}
        if school_phases is not None:
            values["phase"] = default_phase(school_phases.get(code))
        records.append(validate_parameters(values, f"authorities table row {code}"))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"cannot create the parameters folder {out}: {exc.strerror}") from None
    written: list[Path] = []
    for params in records:
        path = out / f"{params.authority}.yaml"
        if path.exists() and not overwrite:
            continue
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(render_parameters(params), encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written


def check_parameters(
    folder: str | os.PathLike | None = None,
    expected_codes: Iterable[str] | None = None,
    school_phases: Mapping[str, Iterable[str]] | None = None,
) -> tuple[int, list[str]]:
    """Validate every ``*.yaml`` file in a parameters folder and collect all problems.

    Args:
        folder: the parameters folder; defaults to :func:`atlaskit.config.parameters_dir`.
        expected_codes: authority codes that should each have a file (missing ones are reported).
        school_phases: the phases each authority has open state-funded schools for
            (:func:`authority_school_phases`): a file whose ``phase`` has no school there (a
            report and app with no schools to show) is reported. None: not checked.

    Returns:
        ``(number of files checked, problems)``: one message per bad or missing file; empty when all is well.
    """
    base = _folder(folder)
    if base.exists() and not base.is_dir():
        return 0, [f"parameters folder {base} is a file, not a folder: give the folder of the <CODE>.yaml files"]
    files = sorted(base.glob("*.yaml")) + sorted(base.glob("*.yml")) if base.is_dir() else []
    problems: list[str] = []
    for path in files:
        try:
            params = load_parameters(path)
        except ParameterError as exc:
            problems.append(str(exc))
            continue
        if school_phases is not None:
            have = set(school_phases.get(params.authority, ()))
            if params.phase not in have:
                instead = f"set phase: {sorted(have)[0]}" if have else "it has no open state-funded primary or secondary school"
                problems.append(f"{path}: phase {params.phase!r}, but {params.authority_name} ({params.authority}) has no open "
                                f"state-funded {params.phase} school to show; {instead}")
    if expected_codes is not None:
        have = {p.stem for p in files}
        absent = [c for c in expected_codes if c not in have]
        if absent:
            problems.append(
                f"{len(absent)} authorit{'y has' if len(absent) == 1 else 'ies have'} no parameter file in {base}: "
                f"{', '.join(absent[:10])}{' ...' if len(absent) > 10 else ''}; run `atlas parameters` to write them"
            )
    if not files and expected_codes is None:
        problems.append(f"no parameter files (*.yaml) in {base}; run `atlas parameters` to write them")
    return len(files), problems

"""Per-authority parameter files: the model, each failure mode of loading, writing and checking."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from atlaskit.errors import ParameterError
from atlaskit.parameters import (
    AuthorityParameters,
    KEY_HELP,
    authority_school_phases,
    check_parameters,
    default_phase,
    load_authority_parameters,
    load_parameters,
    write_parameters,
)
from conftest import skip_or_fail

AUTHORITIES = pd.DataFrame(
    {
        "authority_code": ["E09000007", "E10000016", "E06000058", "E08000025"],
        "authority_name": ["Camden", "Kent", "Bournemouth, Christchurch and Poole", "Birmingham"],
        "region_name": ["London", "South East", "South West", "West Midlands"],
    }
)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


VALID = "authority: E09000007\nauthority_name: Camden\nbuffer_km: 3\nphase: primary\n"


def test_valid_file_loads_with_defaults(tmp_path):
    params = load_parameters(_write(tmp_path, "E09000007.yaml", VALID))
    assert params.authority == "E09000007" and params.phase == "primary"
    assert params.buffer_km == 3.0 and isinstance(params.buffer_km, float)
    assert (params.projection_years, params.top_schools) == (10, 6)
    assert params.include_flows and params.include_demand and params.report_title is None
    assert params.title == "Schools Atlas: Camden"


def test_round_trip_writes_every_authority_with_a_header(tmp_path):
    written = write_parameters(AUTHORITIES, tmp_path)
    assert [p.name for p in written] == [f"{c}.yaml" for c in AUTHORITIES["authority_code"]]
    for path, (code, name) in zip(written, AUTHORITIES[["authority_code", "authority_name"]].itertuples(index=False)):
        params = load_parameters(path)
        assert params == AuthorityParameters(authority=code, authority_name=name)
        text = path.read_text()
        assert text.startswith(f"# Schools Atlas parameters for {name} ({code}).")
        for key in KEY_HELP:  # every key is explained in the header and present in the body
            assert f"#   {key}" in text
            assert f"\n{key}:" in text
    assert load_authority_parameters("E10000016", tmp_path).authority_name == "Kent"


def test_existing_files_are_kept_unless_overwrite(tmp_path):
    write_parameters(AUTHORITIES, tmp_path)
    camden = tmp_path / "E09000007.yaml"
    camden.write_text(camden.read_text().replace("buffer_km: 2.0", "buffer_km: 5.0"))
    assert write_parameters(AUTHORITIES, tmp_path) == []
    assert load_parameters(camden).buffer_km == 5.0
    assert len(write_parameters(AUTHORITIES, tmp_path, overwrite=True)) == 4
    assert load_parameters(camden).buffer_km == 2.0


def test_unknown_key_suggests_the_closest(tmp_path):
    path = _write(tmp_path, "E09000007.yaml", VALID + "bufer_km: 2\n")
    with pytest.raises(ParameterError) as info:
        load_parameters(path)
    message = str(info.value)
    assert str(path) in message and "unknown key 'bufer_km'" in message
    assert "did you mean 'buffer_km'?" in message and "line 5" in message


def test_unknown_key_far_from_any_lists_valid_keys(tmp_path):
    path = _write(tmp_path, "E09000007.yaml", VALID + "colour: red\n")
    with pytest.raises(ParameterError, match="unknown key 'colour'.*valid keys: authority, authority_name"):
        load_parameters(path)


@pytest.mark.parametrize(
    ("line", "key", "fragment"),
    [
        ("buffer_km: two", "buffer_km", "valid number"),
        ("buffer_km: -1", "buffer_km", "greater than or equal to 0"),
        ("projection_years: '10'", "projection_years", "valid integer"),
        ("projection_years: 16", "projection_years", "less than or equal to 15"),
        ("top_schools: 2.5", "top_schools", "valid integer"),
        ("include_flows: 1", "include_flows", "valid boolean"),
        ("phase: tertiary", "phase", "'primary' or 'secondary'"),
        ("report_title: 12", "report_title", "valid string"),
    ],
)
def test_wrong_type_or_range_names_the_key(tmp_path, line, key, fragment):
    path = _write(tmp_path, "E09000007.yaml", "authority: E09000007\nauthority_name: Camden\n" + line + "\n")
    with pytest.raises(ParameterError) as info:
        load_parameters(path)
    message = str(info.value)
    assert str(path) in message and f"key {key!r} (line 3)" in message and fragment in message


def test_bad_authority_code_is_rejected(tmp_path):
    path = _write(tmp_path, "custom.yaml", "authority: E07000001\nauthority_name: A district\n")
    with pytest.raises(ParameterError, match="key 'authority'.*pattern"):
        load_parameters(path)


def test_missing_key_is_named(tmp_path):
    path = _write(tmp_path, "E09000007.yaml", "authority: E09000007\n")
    with pytest.raises(ParameterError, match="missing key 'authority_name'"):
        load_parameters(path)


def test_several_problems_are_reported_together(tmp_path):
    path = _write(tmp_path, "E09000007.yaml", VALID + "top_schools: 50\nphse: primary\n")
    with pytest.raises(ParameterError, match="2 problem") as info:
        load_parameters(path)
    assert "top_schools" in str(info.value) and "'phase'?" in str(info.value)


def test_malformed_yaml_gives_the_line(tmp_path):
    path = _write(tmp_path, "E09000007.yaml", "authority: E09000007\nauthority_name: [Camden\nphase: primary\n")
    with pytest.raises(ParameterError, match=r"not valid YAML at line \d+, column \d+") as info:
        load_parameters(path)
    assert str(path) in str(info.value)


def test_tab_indentation_error_gives_the_line(tmp_path):
    path = _write(tmp_path, "E09000007.yaml", "authority: E09000007\n\tauthority_name: Camden\n")
    with pytest.raises(ParameterError, match="line 2"):
        load_parameters(path)


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_file(tmp_path, text):
    path = _write(tmp_path, "E09000007.yaml", text)
    with pytest.raises(ParameterError, match=f"{path.name} is empty"):
        load_parameters(path)


def test_not_a_mapping(tmp_path):
    path = _write(tmp_path, "E09000007.yaml", "- authority: E09000007\n")
    with pytest.raises(ParameterError, match="must hold a mapping.*not a list"):
        load_parameters(path)


def test_file_name_must_match_the_code_inside(tmp_path):
    path = _write(tmp_path, "E09000001.yaml", VALID)
    with pytest.raises(ParameterError, match="named for E09000001 but its key 'authority' is E09000007"):
        load_parameters(path)
    # a file not named by a code may hold any authority
    assert load_parameters(_write(tmp_path, "camden-trial.yaml", VALID)).authority == "E09000007"


def test_missing_file(tmp_path):
    with pytest.raises(ParameterError, match="not found; run `atlas parameters`"):
        load_parameters(tmp_path / "E09000007.yaml")


@pytest.mark.parametrize(
    "phases, expected",
    [({"primary", "secondary"}, "secondary"), ({"primary"}, "primary"), ({"secondary"}, "secondary"), (set(), "secondary"), (None, "secondary")],
)
def test_default_phase_is_one_the_authority_has_schools_for(phases, expected):
    assert default_phase(phases) == expected


def test_write_parameters_defaults_to_a_phase_with_schools(tmp_path):
    table = pd.DataFrame({"authority_code": ["E09000001", "E09000007"], "authority_name": ["City of London", "Camden"]})
    write_parameters(table, tmp_path, school_phases={"E09000001": {"primary"}, "E09000007": {"primary", "secondary"}})
    assert load_authority_parameters("E09000001", tmp_path).phase == "primary"
    assert load_authority_parameters("E09000007", tmp_path).phase == "secondary"
    write_parameters(table, tmp_path, overwrite=True)  # phases not known: the model's default
    assert load_authority_parameters("E09000001", tmp_path).phase == "secondary"


@pytest.mark.integration
def test_committed_parameter_files_show_a_phase_with_schools(store):
    """Every committed file's phase is one its authority has open state-funded schools for (City of London: primary)."""
    from atlaskit import config

    phases = authority_school_phases(store)
    assert phases["E09000001"] == {"primary"}
    assert phases["E06000053"] == {"primary", "secondary"}  # one all-through school counts in both
    wrong = []
    for path in sorted(config.parameters_dir().glob("*.yaml")):
        params = load_parameters(path)
        if params.phase not in phases.get(params.authority, set()):
            wrong.append(f"{path.name}: {params.phase}")
    assert wrong == []


def test_write_parameters_rejects_a_bad_table(tmp_path):
    with pytest.raises(ParameterError, match="lacks column.*authority_name"):
        write_parameters(AUTHORITIES[["authority_code"]], tmp_path)
    bad = pd.DataFrame({"authority_code": ["E07000001"], "authority_name": ["District"]})
    with pytest.raises(ParameterError, match="(?s)authorities table row E07000001.*key 'authority'"):
        write_parameters(bad, tmp_path)
    twice = pd.concat([AUTHORITIES, AUTHORITIES.head(1)])
    with pytest.raises(ParameterError, match="E09000007 more than once"):
        write_parameters(twice, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_check_reports_every_bad_file(tmp_path):
    write_parameters(AUTHORITIES, tmp_path)
    _write(tmp_path, "E10000016.yaml", "authority: E10000016\nauthority_name: Kent\ntop_school: 3\n")
    _write(tmp_path, "E08000025.yaml", "")
    n_files, problems = check_parameters(tmp_path, expected_codes=[*AUTHORITIES["authority_code"], "E09000001"])
    assert n_files == 4
    assert len(problems) == 3
    assert "E10000016.yaml" in problems[1] and "top_school" in problems[1]
    assert "E08000025.yaml is empty" in problems[0]
    assert "E09000001" in problems[2] and "no parameter file" in problems[2]


def test_check_all_good(tmp_path):
    write_parameters(AUTHORITIES, tmp_path)
    assert check_parameters(tmp_path, AUTHORITIES["authority_code"]) == (4, [])
    assert check_parameters(tmp_path / "none")[1][0].startswith("no parameter files")


def test_cli_check_exit_codes(tmp_path, capsys, monkeypatch):
    import atlaskit
    from atlaskit import parameters
    from atlaskit.cli import main

    monkeypatch.setattr(atlaskit, "authorities", lambda: AUTHORITIES, raising=False)
    phases = {"E09000007": {"primary", "secondary"}, "E10000016": {"primary", "secondary"}, "E06000058": {"primary"}, "E08000025": {"secondary"}}
    monkeypatch.setattr(parameters, "authority_school_phases", lambda: phases)
    assert main(["parameters", "--out", str(tmp_path)]) == 0
    assert "wrote 4 parameter file(s)" in capsys.readouterr().out
    assert main(["parameters", "--out", str(tmp_path)]) == 0
    assert "kept 4 existing" in capsys.readouterr().out
    assert main(["parameters", "--out", str(tmp_path), "--check"]) == 0
    assert "checked 4 parameter file(s)" in capsys.readouterr().out
    # the phase written is one the authority has schools for
    written = {p.stem: yaml.safe_load(p.read_text())["phase"] for p in tmp_path.glob("*.yaml")}
    assert written == {"E09000007": "secondary", "E10000016": "secondary", "E06000058": "primary", "E08000025": "secondary"}
    # a phase the authority has no school for is reported, with the phase to use
    _write(tmp_path, "E06000058.yaml", "authority: E06000058\nauthority_name: Somewhere\nphase: secondary\n")
    assert main(["parameters", "--out", str(tmp_path), "--check"]) == 1
    captured = capsys.readouterr()
    assert "E06000058.yaml" in captured.err and "no open state-funded secondary school" in captured.err and "set phase: primary" in captured.err
    _write(tmp_path, "E06000058.yaml", "authority: E06000058\nauthority_name: Somewhere\nphase: primary\n")
    _write(tmp_path, "E09000007.yaml", VALID + "projection_years: 40\n")
    assert main(["parameters", "--out", str(tmp_path), "--check"]) == 1
    captured = capsys.readouterr()
    assert "E09000007.yaml" in captured.err and "projection_years" in captured.err and "1 problem(s)" in captured.out


def test_committed_parameter_files_are_valid():
    from atlaskit import config

    folder = config.parameters_dir()
    files = sorted(folder.glob("*.yaml"))
    if not files:
        skip_or_fail("no parameter files committed yet (run `atlas parameters`)")
    n_files, problems = check_parameters(folder)
    assert problems == []
    assert n_files == 153
    assert {yaml.safe_load(p.read_text())["authority"][:3] for p in files} == {"E06", "E08", "E09", "E10"}


def test_any_alias_is_refused_before_it_is_expanded(tmp_path):
    """Even a harmless alias: a parameter file holds plain values; the error names the alias and its line."""
    from atlaskit.parameters import load_parameters

    path = tmp_path / "E09000007.yaml"
    path.write_text("authority: E09000007\nauthority_name: &name Camden\nreport_title: *name\n")
    with pytest.raises(ParameterError, match=r"uses a YAML alias \(\*name\) at line 3"):
        load_parameters(path)


def test_a_billion_laughs_file_stays_small_in_memory(tmp_path):
    """Nine levels of nine aliases (3.5 billion strings once expanded): refused with well under 50 MB of extra memory."""
    import resource

    from atlaskit.parameters import load_parameters

    lines = ["authority: E09000007", "authority_name: Camden", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    path = tmp_path / "E09000007.yaml"
    path.write_text("\n".join(lines + ["phase: *a9", ""]))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ParameterError, match="YAML alias"):
        load_parameters(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KB on Linux


def test_a_long_wrong_value_is_shown_cut_short(tmp_path):
    from atlaskit.parameters import load_parameters

    path = tmp_path / "E09000007.yaml"
    path.write_text("authority: E09000007\nauthority_name: Camden\nphase: " + "x" * 6000 + "\ntop_schools: [" + ", ".join(["1"] * 3000) + "]\n")
    with pytest.raises(ParameterError) as info:
        load_parameters(path)
    message = str(info.value)
    assert len(message) < 1000 and "a list of 3000 item(s)" in message and "'xxxxxxxxxx" in message

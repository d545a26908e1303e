"""CLI tests for build / authorities / schools, including bad input."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pandas as pd
import pytest

from atlaskit.cli import main


def run(argv: list[str]) -> tuple[int, str, str]:
    """Run ``atlas argv`` in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", [[], ["build"], ["authorities"], ["schools"], ["validate"]])
def test_every_subcommand_has_help(command):
    code, out, _ = run([*command, "--help"])
    assert code == 0
    assert "Usage" in out


def test_empty_data_dir_lists_missing_files_with_download_pages(tmp_path, monkeypatch):
    monkeypatch.setenv("ATLAS_STORE_DIR", str(tmp_path / "store"))
    code, _, err = run(["build", "--data-dir", str(tmp_path / "empty")])
    assert code == 2
    assert "data file(s) missing" in err
    assert "geography/lsoa11_to_current_lad_utla_england.csv" in err
    assert "https://" in err  # a download page is named
    assert not (tmp_path / "store" / "CURRENT").exists()


def test_truncated_file_is_named(tmp_path, monkeypatch, data_dir):
    """A copy of the data folder with one truncated file: the build names that file."""
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    victim = copy / "planning" / "scorecard_data_2025_2023.csv"
    victim.chmod(0o644)
    victim.write_bytes(victim.read_bytes()[:1000])
    monkeypatch.setenv("ATLAS_STORE_DIR", str(tmp_path / "store"))
    from atlaskit.sources import resolve
    from atlaskit.errors import ChecksumMismatch

    with pytest.raises(ChecksumMismatch, match="scorecard_data_2025_2023.csv"):
        resolve("planning/scorecard_data_2025_2023.csv", copy)


@pytest.mark.integration
def test_authorities_csv_lists_153(store):
    code, out, _ = run(["authorities", "--format", "csv"])
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert len(frame) == 153
    assert frame["authority_code"].is_unique
    assert {"authority_code", "authority_name", "region_name", "n_lsoas", "n_schools"} <= set(frame.columns)
    assert frame.loc[frame["authority_code"] == "E10000016", "n_lsoas"].item() == 902
    assert frame["n_lsoas"].sum() == 32844
    assert (frame["n_schools"] > 0).all()


@pytest.mark.integration
def test_schools_csv_for_camden(store):
    code, out, _ = run(["schools", "E09000007", "--format", "csv"])
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert len(frame) > 40
    assert frame["urn"].is_unique
    assert {"urn", "school_name", "phase", "pupils_2019", "capacity_2015", "ofsted_rating", "easting", "northing", "lsoa11_code"} <= set(frame.columns)
    # census-only schools (nurseries, PRUs) have no address in any register; the rest all have an LSOA
    located = frame["easting"].notna()
    assert located.mean() > 0.9
    assert frame.loc[located, "lsoa11_code"].str.startswith("E01").all()


@pytest.mark.integration
@pytest.mark.parametrize("bad", ["E09999999", "Camdne", "../etc/passwd"])
def test_unknown_authority_suggests_close_matches(store, bad):
    code, out, err = run(["schools", bad])
    assert code == 2
    assert "unknown authority" in err
    assert "Closest:" in err
    if bad == "Camdne":
        assert "E09000007 Camden" in err
    assert "Traceback" not in err + out


@pytest.mark.integration
def test_old_codes_resolve(store):
    from atlaskit.store.loaders import resolve_authority
    from atlaskit.errors import UnknownAuthority

    assert resolve_authority("camden") == "E09000007"
    assert resolve_authority("202") == "E09000007"  # DfE LA number
    assert resolve_authority("E10000002") == "E06000060"  # Buckinghamshire county -> unitary (2020)
    with pytest.raises(UnknownAuthority, match="several authorities"):
        resolve_authority("E10000021")  # Northamptonshire split in 2021


def test_print_frame_keeps_three_decimals_for_small_measures(capsys):
    from atlaskit.cli.data import Format, print_frame

    print_frame(pd.DataFrame({"model": ["a", "b"], "cpc": [0.5736, 0.6012], "pupils": [1234.56, 8.0], "n": [3, 4]}), Format.table)
    out = capsys.readouterr().out
    assert "0.574" in out and "0.601" in out  # not "0.6" for both
    assert "1,234.6" in out and "8.0" in out

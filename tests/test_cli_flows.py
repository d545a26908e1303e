"""``atlas flows`` on the real store: bad and silent inputs (a catalogue), one rule with the app, machine output, feeders."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pandas as pd
import pytest

from atlaskit.cli import main

pytestmark = pytest.mark.integration

CAMDEN, KENT = "E09000007", "E10000016"
KENT_SCHOOL, KENT_LSOA = "118836", "E01023972"  # Maidstone Grammar School for Girls; an LSOA of Kent
CAMDEN_SECONDARY, CAMDEN_LSOA = "100049", "E01000907"  # Haverstock School; an LSOA beside it

# A scannable catalogue of inputs that once gave silent or wrong results (issue 17, item 9) and what they
# give now: the arguments of `atlas flows`, the exit code, and a fragment of the one-line message.
BAD_INPUTS = [
    # (arguments, exit code, expected message fragment)
    ([CAMDEN, "--school", KENT_SCHOOL], 2, f"is a school of Kent ({KENT}), not of Camden ({CAMDEN}): run `atlas flows {KENT} --school {KENT_SCHOOL}`"),
    ([CAMDEN, "--lsoa", KENT_LSOA], 2, f"LSOA {KENT_LSOA} is in Kent ({KENT}), not in Camden ({CAMDEN})"),
    ([CAMDEN, "--lsoa", KENT_LSOA.lower()], 2, f"LSOA {KENT_LSOA} is in Kent"),
    ([CAMDEN, "--school", CAMDEN_SECONDARY, "--lsoa", CAMDEN_LSOA], 2, "--school and --lsoa cannot go together: choose one"),
    ([CAMDEN, "--rows", "-5"], 2, "--rows"),
    ([CAMDEN, "--rows", "0"], 2, "--rows"),
    ([CAMDEN, "--school", CAMDEN_SECONDARY, "--phase", "primary"], 2, "has no primary flows: its flows are secondary; use --phase secondary"),
    ([KENT, "--source", "observed"], 2, "no observed flows are published for the schools of Kent (E10000016)"),
    ([KENT, "--school", KENT_SCHOOL, "--source", "observed"], 2, f"no observed flows are published for URN {KENT_SCHOOL}"),
    ([CAMDEN, "--source", "observed", "--phase", "primary"], 2, "no observed primary flows are published for the schools of Camden"),
    ([CAMDEN, "--lsoa", CAMDEN_LSOA, "--source", "observed", "--phase", "primary"], 2, f"no observed primary flows are published for LSOA {CAMDEN_LSOA}"),
    ([CAMDEN, "--feeders"], 2, "--feeders needs --school URN"),
    ([CAMDEN, "--lsoa", CAMDEN_LSOA, "--feeders"], 2, "--feeders needs --school URN"),
    ([CAMDEN, "--school", "100060"], 2, "has no flows: flows cover state-funded mainstream schools (not special"),  # a special school
    ([CAMDEN, "--school", "100060", "--feeders"], 2, "has no flows"),
    ([CAMDEN, "--school", "1000499"], 2, "close matches"),
    ([CAMDEN, "--lsoa", "E0100090"], 2, "close matches"),
    ([CAMDEN, "--lsoa", "E" * 5000], 2, "is not an English 2011 LSOA"),
]


def run(argv: list[str]) -> tuple[int, str, str]:
    """Run ``atlas argv`` in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("args, exit_code, fragment", BAD_INPUTS, ids=[" ".join(a)[:60] for a, _, _ in BAD_INPUTS])
def test_bad_input_gets_a_clear_message(store, args, exit_code, fragment):
    code, out, err = run(["flows", *args])
    assert code == exit_code
    assert fragment in " ".join(err.split()), err  # rich may wrap a usage message
    assert "Traceback" not in err and out.strip() == ""  # no table printed beside the message
    assert len(err) < 2000  # a 5,000-character input is not echoed back


def _csv(args: list[str]) -> pd.DataFrame:
    code, out, err = run(["flows", *args, "--format", "csv"])
    assert code == 0, err
    return pd.read_csv(io.StringIO(out))


def test_cli_and_app_list_the_same_schools_for_an_area(store):
    """Issue 17 item 7: the command line listed 43 schools for this area, the app 32; one rule decides both."""
    from atlaskit.app import AtlasApp

    cli = _csv([CAMDEN, "--lsoa", CAMDEN_LSOA, "--phase", "secondary"])
    app = AtlasApp.for_authority(CAMDEN, basemap=False, phase="secondary")
    app.select_area(CAMDEN_LSOA)
    assert len(app.table) > 0
    assert sorted(cli["urn"]) == sorted(app.table["urn"].astype(int))
    # the rule: no school is listed from both sources
    assert not cli["urn"].duplicated().any()
    observed = set(cli.loc[cli["source"] == "observed", "urn"])
    flows = app.data.flows
    published = set(flows.loc[(flows["source"] == "observed") & (flows["phase"] == "secondary"), "urn"])
    assert observed and not (set(cli.loc[cli["source"] == "modelled", "urn"]) & published)


def test_csv_writes_modelled_estimates_unrounded_and_observed_counts_disclosed(store):
    frame = _csv([CAMDEN, "--lsoa", CAMDEN_LSOA])
    modelled = frame.loc[frame["source"] == "modelled", "pupils"]
    assert (modelled != modelled.round()).any()  # estimates keep their decimals
    assert (frame.loc[frame["source"] == "modelled", "label"] == "estimate").all()
    observed = frame.loc[frame["source"] == "observed", "pupils"].dropna()
    assert len(observed) and (observed == observed.round()).all() and (observed >= 3).all()
    # a school's flows: the unrounded estimates add up to the table's total
    whole = _csv([CAMDEN, "--school", CAMDEN_SECONDARY, "--source", "modelled"])
    assert whole["share"].sum() == pytest.approx(1.0, abs=1e-3)


def test_table_format_rounds_estimates(store):
    code, out, _ = run(["flows", CAMDEN, "--lsoa", CAMDEN_LSOA, "--rows", "60"])
    assert code == 0 and "estimate" in out and "rounded; --format csv writes it unrounded" in out


def test_feeders_of_a_secondary_and_of_a_primary_are_labelled_estimates(store):
    feeders = _csv([CAMDEN, "--school", CAMDEN_SECONDARY, "--feeders"])
    assert (feeders["label"] == "estimate").all() and set(feeders["link"]) == {"primary feeding it"}
    assert feeders["share"].sum() == pytest.approx(1.0, abs=1e-6)
    top = int(feeders["urn"].iloc[0])
    back = _csv([str(feeders["authority_code"].iloc[0]), "--school", str(top), "--feeders"])
    assert set(back["link"]) == {"secondary its leavers go to"}
    # the same pair from both ends is the same estimate
    pair = back.loc[back["urn"] == int(CAMDEN_SECONDARY), "leavers"]
    assert float(pair.iloc[0]) == pytest.approx(float(feeders["leavers"].iloc[0]), rel=1e-6)
    code, out, _ = run(["flows", CAMDEN, "--school", CAMDEN_SECONDARY, "--feeders", "--rows", "5"])
    assert code == 0 and "Estimated feeder primary schools" in out and "not observed counts" in out

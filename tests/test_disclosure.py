"""Disclosure control: no observed count under 3 is shown, estimates are labelled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlaskit.analysis.disclosure import DisclosureError, check_disclosable, disclose
from atlaskit.vocabulary import DISCLOSURE_THRESHOLD as THRESHOLD

rows = st.lists(
    st.tuples(st.integers(1, 4), st.one_of(st.integers(0, 40).map(float), st.floats(0, 40)), st.sampled_from(["observed", "modelled"])),
    min_size=1,
    max_size=40,
)


def _frame(data):
    return pd.DataFrame(data, columns=["urn", "pupils", "source"])


@settings(max_examples=80, deadline=None)
@given(rows)
def test_suppression_never_shows_an_observed_count_under_3(data):
    frame = _frame(data)
    shown = disclose(frame)
    observed = shown[shown["label"] == "observed"]
    visible = observed["pupils"].dropna()
    assert (visible >= THRESHOLD).all()
    check_disclosable(shown)  # does not raise
    # every observed value under 3 is flagged, none at or above it
    raw = frame.loc[frame["source"] == "observed", "pupils"]
    assert (observed["suppressed"] == (raw < THRESHOLD)).all()

@settings(max_examples=40, deadline=None)
@given(rows)
def test_disclose_leaves_its_input_alone(data):
    frame = _frame(data)
    before = frame.copy()
    disclose(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_modelled_values_are_rounded_and_labelled_estimates():
    shown = disclose(_frame([(1, 2.4, "modelled"), (1, 0.6, "modelled"), (2, 7.0, "observed")]))
    assert shown["pupils"].tolist() == [2, 1, 7]
    assert shown["label"].tolist() == ["estimate", "estimate", "observed"]
    assert not shown["suppressed"].any()  # estimates describe no real child: not suppressed


def test_source_suppression_kept():
    frame = pd.DataFrame(
        {"urn": [1, 1, 1], "pupils": [5.0, 4.0, np.nan], "source": "observed", "suppressed": [False, False, True], "school_total_pupils": [20, 20, 20]}
    )
    shown = disclose(frame)
    assert shown["suppressed"].tolist() == [False, False, True]


def test_check_disclosable_raises_on_small_observed_counts():
    with pytest.raises(DisclosureError, match="1 observed count"):
        check_disclosable(_frame([(1, 2.0, "observed"), (1, 2.0, "modelled")]))
    with pytest.raises(KeyError, match="pupils"):
        disclose(pd.DataFrame({"count": [1], "source": ["observed"]}))


def test_a_count_suppressed_at_source_is_never_shown():
    shown = disclose(pd.DataFrame({"pupils": [5.0, 6.0], "source": ["observed", "modelled"], "suppressed": [True, True]}))
    assert shown["pupils"].isna().tolist() == [True, False]  # blanked as its flag says; estimates are not suppressed
    assert shown["suppressed"].tolist() == [True, False]

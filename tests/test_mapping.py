"""Pure map-building functions (atlaskit.mapping) on the fake authority: no widgets, no browser."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest

from atlaskit import mapping, vocabulary
from fake_atlas import make_authority


@pytest.fixture(scope="module")
def town():
    return make_authority()


def test_children_of_phase_sums_school_ages(town):
    values = vocabulary.children_of_phase(town.lsoas, "secondary")
    first = town.lsoas.iloc[0]
    assert values.iloc[0] == sum(first[f"age_{a}_2019"] for a in range(11, 16))
    assert values.index.name == "lsoa11_code"
    with pytest.raises(ValueError, match="phase"):
        vocabulary.children_of_phase(town.lsoas, "nursery")
    with pytest.raises(ValueError, match="age_4_2020"):
        vocabulary.children_of_phase(town.lsoas, "primary", year=2020)


def test_layer_values_rejects_unknown_layer(town):
    assert mapping.layer_values(town.lsoas, "imd").between(1, 10).all()
    with pytest.raises(ValueError, match="context layer"):
        mapping.layer_values(town.lsoas, "catchment")


def test_classify_quantiles_every_value_has_a_class_and_colour(town):
    values = mapping.layer_values(town.lsoas, "children", "primary")
    values.iloc[3] = np.nan
    classes = mapping.classify(values, "children")
    assert len(classes.bins) == len(classes.colours) == len(classes.labels) == 5
    assert list(classes.bins) == sorted(classes.bins)
    assert classes.yb[3] == -1 and (np.delete(classes.yb, 3) >= 0).all()
    colours = classes.colour_of()
    assert colours.iloc[3] == mapping.NO_DATA_COLOUR
    assert set(colours.drop(colours.index[3])) <= set(classes.colours)


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quantile_classes_match_mapclassify(k, seed):
    import mapclassify

    rng = np.random.default_rng(seed)
    y = np.round(rng.lognormal(3, 1, 200))
    reference = mapclassify.Quantiles(y, k=k)
    np.testing.assert_allclose(mapping.quantile_bins(y, k), reference.bins)
    np.testing.assert_array_equal(mapping.bin_values(y, reference.bins), reference.yb)
    deciles = rng.integers(1, 11, 50).astype(float)
    np.testing.assert_array_equal(mapping.bin_values(deciles, range(1, 11)), mapclassify.UserDefined(deciles, bins=list(range(1, 11))).yb)


def test_classify_deciles_are_fixed_and_labelled():
    values = pd.Series([1.0, 10.0, 5.0], index=["a", "b", "c"])
    classes = mapping.classify(values, "imd")
    assert list(classes.yb) == [0, 9, 4]
    assert classes.labels[0].startswith("1 (most deprived")
    assert len(classes.colours) == 10


def test_classify_copes_with_few_or_no_values():
    one = mapping.classify(pd.Series([4.0, 4.0, np.nan], index=list("abc")), "catchment")
    assert len(one.bins) == 1 and list(one.yb) == [0, 0, -1]
    none = mapping.classify(pd.Series([np.nan], index=["a"]), "children")
    assert none.bins == () and list(none.yb) == [-1]
    with pytest.raises(ValueError, match="unknown layer"):
        mapping.classify(pd.Series([1.0]), "rainfall")


def test_base_features_refuse_projected_geometry(town):
    with pytest.raises(ValueError, match="EPSG:4326"):
        mapping.base_features(town.lsoas)
    base = mapping.base_features(town.lsoas_display)
    assert len(base) == len(town.lsoas_display)
    assert base[0]["geometry"]["type"] == "Polygon"


def test_styled_collection_precomputes_style_and_shares_geometry(town):
    base = mapping.base_features(town.lsoas_display)
    values = mapping.layer_values(town.lsoas, "children", "primary")
    classes = mapping.classify(values, "children")
    fc = mapping.styled_collection(base, values, classes, selected=base[6]["id"])
    inside = [f for f in base if f["properties"]["in_authority"]]
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == len(inside) == 9  # neighbours not sent
    by_id = {f["id"]: f for f in base}
    for new in fc["features"]:
        assert new["geometry"] is by_id[new["id"]]["geometry"]  # not copied
        style = new["properties"]["style"]
        assert {"fillColor", "fillOpacity", "color", "weight", "className"} <= set(style)
        assert style["className"] == mapping.AREA_CLASS
        assert style["fillColor"] in classes.colours
    assert fc["features"][0]["properties"]["style"]["weight"] == 3
    # a catchment sends the neighbours that carry a value, marked as outside
    outside = [f["id"] for f in base if not f["properties"]["in_authority"]]
    catch = pd.Series([5.0, 7.0], index=[outside[0], inside[0]["id"]])
    fc = mapping.styled_collection(base, catch, mapping.classify(catch, "catchment"), colour_outside=True)
    classes_sent = {f["id"]: f["properties"]["style"]["className"] for f in fc["features"]}
    assert len(fc["features"]) == 10 and classes_sent[outside[0]] == mapping.OUTSIDE_AREA_CLASS
    json.dumps(fc)  # serialisable as sent to the browser


def test_legend_has_text_for_every_colour(town):
    classes = mapping.classify(mapping.layer_values(town.lsoas, "idaci"), "idaci")
    items = mapping.legend_items(classes, dashed_note=True)
    assert len(items) == 12 and items[-1].dashed
    text = mapping.legend_html(classes, "Child poverty <b>", "note & more")
    assert "&lt;b&gt;" in text and "note &amp; more" in text and "10 (least deprived)" in text


def test_schools_collection_filters_open_state_funded_of_phase(town):
    fc = mapping.schools_collection(town.schools, "primary", selected=100001)
    urns = {f["id"] for f in fc["features"]}
    assert urns == {100001, 100002, 100004}  # closed 100005 and secondary 100003 left out
    lon, lat = fc["features"][0]["geometry"]["coordinates"]
    assert -1 < lon < 1 and 51 < lat < 52
    chosen = next(f for f in fc["features"] if f["id"] == 100001)
    assert chosen["properties"]["style"]["radius"] > 6


def test_school_profile_and_links(town):
    school = town.schools.iloc[2]
    profile = mapping.school_profile(school)
    assert profile["Ofsted rating"] == "Requires improvement"
    assert profile[mapping.PROFILE_PROGRESS8] == "+0.12"
    assert profile["Pupils on roll (January 2019)"] == "1,100"
    assert profile["Places (capacity, 2015)"] == "1,000"
    # key-stage jargon is explained in the label a parent reads
    assert "GCSE" in mapping.PROFILE_ATTAINMENT8 and "0 = England average" in mapping.PROFILE_PROGRESS8
    assert "KS4" not in " ".join(profile)
    page = mapping.school_profile_html(school)
    assert "Details/100003" in page and "compare-school-performance" in page
    hostile = school.copy()
    hostile["school_name"] = "<script>alert(1)</script>"
    assert "<script>" not in mapping.school_profile_html(hostile)


def test_disclosure_never_shows_observed_counts_under_three():
    flows = pd.DataFrame(
        {
            "lsoa11_code": ["a", "b", "c", "d", "e"],
            "pupils": [2.0, 3.0, np.nan, 0.4, 7.6],
            "source": ["observed", "observed", "observed", "modelled", "modelled"],
        }
    )
    out = mapping.format_flows(flows)
    assert out["pupils_shown"].isna().tolist() == [True, False, True, False, False]
    assert out["pupils_label"].tolist() == ["fewer than 3", "3", "fewer than 3", "fewer than 1 (estimate)", "about 8 (estimate)"]
    assert out["pupils_shown"].iloc[4] == 8.0


def test_catchment_summary_leaves_hidden_counts_out(town):
    catchment = town.flows[town.flows["urn"] == 100003].assign(share=np.nan)
    own = set(town.lsoas.loc[town.lsoas["in_authority"], "lsoa11_code"])
    summary = mapping.catchment_summary(catchment, own)
    visible = catchment.loc[catchment["pupils"] >= 3, "pupils"].sum()
    assert summary["pupils"] == visible
    assert 0 < summary["share_outside"] < 1
    assert summary["source"] == "observed" and not summary["estimate"]
    values, labels, modelled = mapping.catchment_values(catchment)
    assert values.isna().sum() == 2 and not modelled.any()
    assert "fewer than 3" in set(labels)


def test_zoom_for_bounds_fits_a_borough_and_a_county():
    _, borough = mapping.zoom_for_bounds(((51.51, -0.21), (51.57, -0.10)))
    _, county = mapping.zoom_for_bounds(((50.91, 0.03), (51.48, 1.45)))
    assert 11 <= borough <= 13 and 8 <= county <= 10 and county < borough


def test_csv_download_link_round_trips():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y,z"]})
    link = mapping.csv_download_html(frame, "../bad name.csv")
    assert 'download=".._bad_name.csv"' in link
    payload = re.search(r"base64,([^\"]+)", link).group(1)
    assert base64.b64decode(payload).decode() == frame.to_csv(index=False)


def test_utilisation_layer(town):
    pct = mapping.utilisation(town.schools)
    assert pct[100003] == pytest.approx(110.0) and np.isnan(pct[100004])
    assert mapping.utilisation_colour(110.0) == mapping.UTILISATION_COLOURS[2]
    assert mapping.utilisation_colour(float("nan")) == mapping.NO_DATA_COLOUR
    table = mapping.utilisation_table(town.schools, "secondary")
    assert table["urn"].tolist() == [100003, 100004]


def test_legend_of_counts_has_whole_number_bounds():
    # children and pupils are whole numbers: quantile bounds such as 94.8 read as nonsense
    rng = np.random.default_rng(3)
    values = pd.Series(np.round(rng.lognormal(4, 0.5, 133)), index=[f"E01{i:06d}" for i in range(133)])
    classes = mapping.classify(values, "children")
    assert all(float(b).is_integer() for b in classes.bins)
    assert not any("." in label for label in classes.labels), classes.labels
    assert not any(label.startswith("over") for label in classes.labels)
    # every value still sits in the class whose label covers it
    for value, cls in zip(values, classes.yb):
        label = classes.labels[cls]
        low, _, high = label.partition(" to ")
        assert float(low.replace(",", "")) <= value <= float((high or low).replace(",", ""))
    # classes of consecutive whole numbers do not overlap: "70 to 94" then "95 to 114"
    bounds = [label.partition(" to ") for label in classes.labels]
    for (_, _, hi), (lo, _, _) in zip(bounds, bounds[1:]):
        assert float(lo.replace(",", "")) == float((hi or lo).replace(",", "")) + 1
    # fractional values keep their fractional "over a to b" labels
    frac = mapping.classify(values / 3.0, "children")
    assert any(label.startswith("over") for label in frac.labels)


def test_catchment_leaves_out_estimates_under_one_pupil():
    catchment = pd.DataFrame(
        {
            "lsoa11_code": ["a", "b", "c", "d", None],
            "pupils": [0.3, 0.2, 4.6, 30.2, np.nan],
            "source": ["modelled"] * 4 + ["modelled"],
            "distance_km": [5.0, 6.0, 1.0, 0.5, np.nan],
        }
    )
    values, labels, _ = mapping.catchment_values(catchment)
    assert values.index.tolist() == ["a", "b", "c", "d"]  # the row without an area is not a map area
    assert values.isna().tolist() == [True, True, False, False]  # not coloured, not in the legend
    assert labels["a"] == "fewer than 1 (estimate)"
    classes = mapping.classify(values, "catchment")
    assert min(classes.bins) >= 1
    summary = mapping.catchment_summary(catchment, {"a", "b", "c", "d"})
    assert summary["areas"] == 2 and summary["pupils"] == 35
    page = mapping.summary_html("X", summary)
    assert "Areas with pupils shown" in page and "modelled estimate" in page


def test_summary_says_where_observed_counts_come_from(town):
    catchment = town.flows[town.flows["urn"] == 100003].assign(share=np.nan)
    summary = mapping.catchment_summary(catchment, set())
    assert summary["areas"] == 11  # the two areas under 3 are neither drawn nor counted
    assert "January 2015" in mapping.summary_html("Gamma", summary)


def test_destinations_name_every_school_and_hide_small_counts():
    dest = pd.DataFrame(
        {
            "urn": [1, 2, 3, 4, 5],
            "pupils": [12.0, 2.0, 6.4, 0.3, 0.2],
            "share": [0.57, 0.1, 0.3, 0.015, 0.01],
            "cumulative_share": [0.57, 0.67, 0.97, 0.985, 1.0],
            "distance_km": [0.5, 1.0, 2.0, 5.0, np.nan],
            "source": ["observed", "observed", "modelled", "modelled", "modelled"],
        }
    )
    page = mapping.destinations_html("Area 1", dest, {1: "One School", 3: "Three School (Westminster)"}, note="Outside & more")
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", page)
    assert [r[0] for r in rows] == ["One School", "school URN 2", "Three School (Westminster)"]  # never a bare number
    assert rows[1][1] == "fewer than 3" and rows[1][2] == "not shown"  # no share that would reveal the count
    assert rows[2][1] == "about 6 (estimate)"
    assert "about 0" not in page and "2 other schools with fewer than 1 pupil each" in page
    assert "Distance from home (km)" in page and "Outside &amp; more" in page


def test_legend_says_what_grey_means_per_layer(town):
    catchment = mapping.legend_html(mapping.classify(pd.Series([3.0, 5.0]), "catchment"), "t")
    assert "fewer than 3" in catchment and "outside the authority" not in catchment
    assert "not published" in mapping.legend_html(mapping.utilisation_classes(), "t")


def test_utilisation_text():
    assert mapping.utilisation_text(950, 1241, 76.6) == "950 pupils on roll (January 2019) for 1,241 places (2015): 77% full."
    assert "not published" in mapping.utilisation_text(None, 1241, None)

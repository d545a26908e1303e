"""notebooks/report.ipynb executed by Papermill on small authorities from the built store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from atlaskit import batch, config

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AUTHORITIES = {"E06000053": "Isles of Scilly", "E09000001": "City of London", "E09000007": "Camden"}


def _errors(ipynb: Path) -> list[str]:
    nb = json.loads(ipynb.read_text())
    return [f"{o['ename']}: {o['evalue']}" for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]


def test_report_batch_on_small_authorities(store, tmp_path, write_parameter_file):
    """Papermill runs of report.ipynb: no cell errors, headline figures and images in the HTML; a broken
    parameter file fails alone, is listed in the index, and is the only report rebuilt once fixed."""
    import atlaskit
    from atlaskit import report

    params = tmp_path / "parameters"
    params.mkdir()
    write_parameter_file(params, "E06000053")
    write_parameter_file(params, "E09000007", top_schools=3)
    write_parameter_file(params, "E09000001", phase="sixth form")  # deliberately broken
    out = tmp_path / "reports"
    build_before = batch.store_build_id()

    result = batch.run_batch(list(AUTHORITIES), out, parameters_dir=params, workers=2)
    assert sorted(result.built) == ["E06000053", "E09000007"], {c: f.describe() for c, f in result.failed.items()}
    assert list(result.failed) == ["E09000001"] and result.failed["E09000001"].stage == "parameters"
    index = (out / "index.html").read_text()
    assert "E09000001" in index and "sixth form" in index and 'href="E06000053.html"' in index

    for code in ("E06000053", "E09000007"):
        assert _errors(out / f"{code}.ipynb") == []
        html = (out / f"{code}.html").read_text()
        assert AUTHORITIES[code] in html and "Headline figures" in html
        assert html.count("data:image/png;base64,") >= 3, "maps and the projection chart are embedded"
        assert "Open Government Licence v3.0" in html and "Data vintage" in html
        assert not re.findall(r'<script[^>]+src="https?:', html), "nothing loaded from a CDN"
        assert "report.prepare(" not in html, "code cells are hidden"
        # the headline figures shown are the ones atlaskit computes for this authority
        data = atlaskit.load(code, buffer_km=0.5)
        table = report.headline_figures(data.schools, "secondary").set_index("measure")
        assert f"{table.loc['Pupils', 'value']:,.0f}" in html
        assert f"<td class=\"num\">{table.loc['Schools', 'value']:,.0f}</td>" in html

    camden = (out / "E09000007.html").read_text()
    assert "Cross-border pupils" in camden and "DfE published" in camden

    write_parameter_file(params, "E09000001")  # fixed
    result = batch.run_batch(list(AUTHORITIES), out, parameters_dir=params, workers=2)
    assert result.ok, {c: f.describe() for c, f in result.failed.items()}
    if batch.store_build_id() == build_before:  # another process may rebuild the store meanwhile
        assert result.built == ["E09000001"] and sorted(result.skipped) == ["E06000053", "E09000007"]
    assert _errors(out / "E09000001.ipynb") == []
    assert "ParameterError" not in (out / "index.html").read_text()


def test_notebook_is_thin_and_stripped():
    nb = json.loads((config.notebooks_dir() / "report.ipynb").read_text())
    first = nb["cells"][0]
    assert "parameters" in first["metadata"].get("tags", [])
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        assert not re.search(r"^\s*(def|class|lambda)\b", source, re.M), source
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None
    # the parameters cell holds literals only, one per AuthorityParameters field
    from atlaskit.parameters import AuthorityParameters

    names = [line.split("=")[0].strip() for line in "".join(first["source"]).splitlines() if line.strip()]
    assert names == list(AuthorityParameters.model_fields)

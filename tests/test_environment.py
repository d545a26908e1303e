"""environment.yml (conda users) and pyproject.toml (pip users) list the same pinned dependencies."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement

from atlaskit.config import PROJECT_ROOT

#: Conda-forge names that differ from the PyPI name (after normalisation), conda -> PyPI.
CONDA_TO_PYPI = {"playwright-python": "playwright", "matplotlib-base": "matplotlib", "pytables": "tables"}
#: Conda entries that are tools of the environment, not dependencies of the package.
CONDA_ONLY = {"python", "pip"}


def normalise(name: str) -> str:
    """PEP 503 normalisation (case, runs of -_. to -), then known conda renames."""
    name = re.sub(r"[-_.]+", "-", name.strip()).lower()
    return CONDA_TO_PYPI.get(name, name)


def pyproject_pins() -> dict[str, str]:
    """Return {normalised name: pinned version} from [project.dependencies] and the test extras."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    pins: dict[str, str] = {}
    for line in [*project["dependencies"], *project.get("optional-dependencies", {}).get("test", [])]:
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"pyproject.toml: {line!r} is not pinned with =="
        pins[normalise(req.name)] = specs[0].version
    return pins


def environment() -> dict:
    """Return environment.yml parsed."""
    return yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())


def environment_pins() -> tuple[dict[str, str], list[str]]:
    """Return ({normalised name: version} of conda and pip entries, the pip section's raw lines)."""
    pins: dict[str, str] = {}
    pip_lines: list[str] = []
    for item in environment()["dependencies"]:
        if isinstance(item, dict):
            pip_lines = list(item.get("pip", []))
            for line in pip_lines:
                if line.startswith("-"):  # -e . and other pip options
                    continue
                req = Requirement(line)
                specs = list(req.specifier)
                pins[normalise(req.name)] = specs[0].version if len(specs) == 1 and specs[0].operator == "==" else f"unpinned: {line}"
            continue
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(?:(==?)\s*([^\s=]+))?\s*", item)
        assert match, f"environment.yml: cannot parse the conda entry {item!r}"
        name, _, version = match.groups()
        if name.lower() in CONDA_ONLY:
            continue
        assert name == name.lower(), f"environment.yml: conda-forge names are lower case: {item!r}"
        pins[normalise(name)] = version or f"unpinned: {item}"
    return pins, pip_lines


def test_environment_header():
    env = environment()
    assert env["name"] == "schools-atlas"
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda and "pip" in conda
    # pyproject's requires-python admits the conda python
    requires = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    from packaging.specifiers import SpecifierSet

    assert "3.11" in SpecifierSet(requires)


def test_environment_ends_by_installing_the_package():
    last = environment()["dependencies"][-1]
    assert isinstance(last, dict) and last["pip"][-1] == "-e ."


def test_same_packages_as_pyproject():
    wanted = pyproject_pins()
    have, _ = environment_pins()
    missing = sorted(set(wanted) - set(have))
    extra = sorted(set(have) - set(wanted))
    assert not missing, f"in pyproject.toml but not environment.yml (add them, with their conda-forge names): {missing}"
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"


def test_same_pinned_versions_as_pyproject():
    wanted = pyproject_pins()
    have, _ = environment_pins()
    differ = {n: (wanted[n], have[n]) for n in wanted.keys() & have.keys() if wanted[n] != have[n]}
    assert not differ, f"versions differ (pyproject.toml, environment.yml): {differ}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("PyYAML", "pyyaml"), ("RapidFuzz", "rapidfuzz"), ("pytest_xdist", "pytest-xdist"), ("playwright-python", "playwright"), ("et_xmlfile", "et-xmlfile")],
)
def test_normalise(raw, expected):
    assert normalise(raw) == expected

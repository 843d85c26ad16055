"""Each role installs only what it needs (issue 2: the agent extra brings no web stack).

The closure of each extra is computed from the installed distributions' metadata, so the
test is offline and follows the versions actually resolved.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(requirements: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = _norm(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            pytest.fail(f"{req.name} is required but not installed: run scripts/setup.sh test")
        envs = [{"extra": e} for e in req.extras] or [{"extra": ""}]
        for sub in dist.requires or []:
            sub_req = Requirement(sub)
            if sub_req.marker is None or any(sub_req.marker.evaluate(env) for env in envs):
                todo.append(sub_req)
    return seen


def _role(extra: str) -> set[str]:
    project = PYPROJECT["project"]
    return _closure(project["dependencies"] + project["optional-dependencies"][extra])


def test_agent_install_brings_no_web_stack_or_database_layer() -> None:
    agent = _role("agent")
    assert {"paho-mqtt", "opencv-python-headless", "onvif-zeep-async", "pydantic"} <= agent
    assert not agent & {"fastapi", "uvicorn", "sqlite-utils", "starlette", "geothai", "jinja2"}


def test_aggregator_install_brings_no_opencv() -> None:
    aggregator = _role("aggregator")
    assert {"fastapi", "sqlite-utils", "geothai", "paho-mqtt"} <= aggregator
    assert not {name for name in aggregator if name.startswith("opencv")}
    assert "onvif-zeep-async" not in aggregator


def test_protocol_depends_on_pydantic_only() -> None:
    assert [Requirement(r).name for r in PYPROJECT["project"]["dependencies"]] == ["pydantic"]
    for path in (ROOT / "protocol").glob("*.py"):
        imports = re.findall(r"^\s*(?:from|import) ([a-z_]+)", path.read_text(), re.M)
        third_party = {i for i in imports if i not in {"pydantic", "__future__"} and not _is_stdlib(i)}
        assert not third_party, f"{path.name} imports {third_party}"


def _is_stdlib(name: str) -> bool:
    import sys

    return name in sys.stdlib_module_names


def test_agent_and_aggregator_never_import_each_other() -> None:
    for package, other in (("agent", "aggregator"), ("aggregator", "agent")):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            assert not re.search(rf"^\s*(from|import) {other}\b", text, re.M), f"{path} imports {other}"


def test_console_entry_points() -> None:
    assert PYPROJECT["project"]["scripts"] == {
        "camwatch-agent": "agent.__main__:main",
        "camwatch-aggregator": "aggregator.__main__:main",
    }


@pytest.mark.parametrize("package", ["protocol", "agent", "aggregator"])
def test_every_data_file_is_declared_package_data(package: str) -> None:
    """A template, static file or shipped list missing from package-data works in a checkout and
    is absent from an installed wheel (the committee pack's section templates once were)."""
    import glob

    root = ROOT / package
    declared: set[str] = set()
    for pattern in PYPROJECT["tool"]["setuptools"]["package-data"].get(package, []):
        declared |= {p for p in glob.glob(pattern, root_dir=root, recursive=True) if (root / p).is_file()}
    present = {str(p.relative_to(root)) for p in root.rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    assert present - declared == set(), f"add to [tool.setuptools.package-data] {package}"

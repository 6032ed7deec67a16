"""The package type-checks clean under the project's strict mypy settings (pyproject.toml).

The package's folders are mapped into the ``tradeflood`` namespace
(``[tool.setuptools.package-dir]``: ``models/`` is ``tradeflood.models``), which
mypy cannot follow, so the check runs on a tree of links laid out as the package
installs (``build/typecheck/tradeflood``). Run it alone with
``python tests/test_typing.py``, which prints mypy's report.
"""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / "build" / "typecheck"


def lay_out_package() -> Path:
    """Link the package's folders under ``TREE`` as they install; returns ``TREE``."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    top = TREE / "tradeflood"
    shutil.rmtree(top, ignore_errors=True)  # removes the links, never what they point at
    top.mkdir(parents=True)
    for entry in (ROOT / mapping["tradeflood"]).iterdir():
        (top / entry.name).symlink_to(entry)
    for package, folder in sorted(mapping.items()):
        if package == "tradeflood":
            continue
        place = TREE.joinpath(*package.split("."))
        if place.exists():  # a subpackage inside a folder linked already
            assert place.resolve() == (ROOT / folder).resolve(), f"{package} is laid out twice"
            continue
        place.symlink_to(ROOT / folder)
    return TREE


def run_mypy() -> tuple[str, int]:
    """mypy's report on the laid-out package and its exit status, paths as in the repository."""
    from mypy import api

    tree = lay_out_package()
    before = Path.cwd()
    os.chdir(tree)  # mypy finds the package it is asked for in the working folder
    try:
        out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"),
                                    "--cache-dir", str(ROOT / ".mypy_cache"), "-p", "tradeflood"])
    finally:
        os.chdir(before)
    lines = []
    for line in (out + err).splitlines():
        path, sep, rest = line.partition(":")
        if sep and path.endswith(".py") and (tree / path).exists():
            path = str((tree / path).resolve().relative_to(ROOT))
        lines.append(path + sep + rest)
    return "\n".join(lines), status


@pytest.mark.slow  # 20-40 s with no mypy cache (2 loaded cores), under a second with one
def test_the_package_type_checks_clean() -> None:
    report, status = run_mypy()
    assert status == 0, report
    assert report.startswith("Success: no issues found in"), report
    checked = int(report.split(" in ")[1].split()[0])
    assert checked > 200, report  # the whole package, the mapped folders included


if __name__ == "__main__":
    report, status = run_mypy()
    print(report)
    sys.exit(status)

"""The README's two set-up commands are what CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    text = (ROOT / "README.md").read_text()
    head = text.split("\n## ", 1)[0]
    commands = re.findall(r"^    (python3 .*)$", head, flags=re.M)
    assert len(commands) == 2
    demo, tests = commands
    assert demo.endswith("tradeflood demo") and tests.endswith("python -m pytest")
    assert "sed -n" in (ROOT / ".ci" / "run").read_text()  # .ci/run extracts the pytest line from the README

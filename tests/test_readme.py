"""The README runs as pasted: every Python block and every shell command, against the simulator.

Each ```python block runs as a program of its own, and each shell command (an
indented ``tradeflood ...`` line, or a line of a ```sh block) runs in bash,
both with the environment pointing TradeFlood at a simulator on 127.0.0.1
(``Simulator.environ()``) and with a store of their own. A block that cannot
run offline is marked on the line before it with
``<!-- not run by tests: REASON -->``; the marks are few, and each says why. A
block marked ``<!-- excerpt of PATH -->`` shows pieces of a tested file: every
class and function it defines must be defined in that file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tradeflood.testing import Simulator

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SKIP = re.compile(r"<!-- not run by tests: (.+?) -->")
EXCERPT = re.compile(r"<!-- excerpt of (\S+) -->")
MOST_SKIPS = 9  # the long-running server and bus commands; their own suites run them


@dataclass(frozen=True)
class Block:
    """One runnable piece of the README: its kind, its first line number and its text."""

    kind: str  # "python" or "shell"
    line: int
    text: str
    skip: str | None  # the stated reason it is not run, if any
    excerpt: str | None = None  # the tested file it shows pieces of, if any

    @property
    def id(self) -> str:
        first = self.text.strip().splitlines()[0][:50]
        return f"L{self.line}-{self.kind}: {first}"


def readme_blocks(text: str) -> list[Block]:
    """The README's Python blocks and shell commands, in order, with their marks."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        mark, excerpt = SKIP.search(before), EXCERPT.search(before)
        reason = mark.group(1) if mark else None
        source = excerpt.group(1) if excerpt else None
        fence = re.match(r"^(\s*)```(\w+)\s*$", line)
        if fence:
            indent = len(fence.group(1))
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip().startswith("```"))
            body = "\n".join(x[indent:] for x in lines[i + 1:end])
            if fence.group(2) == "python":
                blocks.append(Block("python", i + 2, body, reason, source))
            elif fence.group(2) in ("sh", "bash", "shell", "console"):
                blocks.append(Block("shell", i + 2, body, reason))
            i = end + 1
            continue
        if line.startswith("    ") and (i == 0 or not lines[i - 1].strip() or mark):
            end = i
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            body = "\n".join(x[4:] for x in lines[i:end]).strip("\n")
            if re.match(r"^(tradeflood|python|curl|redis-cli|docker|websocat) ", body):
                blocks.append(Block("shell", i + 1, body, reason))
            i = end
            continue
        i += 1
    return blocks


BLOCKS = readme_blocks(README.read_text())


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    text = README.read_text()
    head = text.split("\n## ", 1)[0]
    commands = re.findall(r"^    (python3 .*)$", head, flags=re.M)
    assert len(commands) == 2
    demo, tests = commands
    assert demo.endswith("tradeflood demo") and tests.endswith("python -m pytest")
    assert "sed -n" in (ROOT / ".ci" / "run").read_text()  # .ci/run extracts the pytest line from the README


def test_the_blocks_not_run_are_few_and_say_why() -> None:
    skipped = [b for b in BLOCKS if b.skip]
    assert len(BLOCKS) >= 10
    assert len(skipped) <= MOST_SKIPS, [b.id for b in skipped]
    assert all(len(b.skip or "") >= 20 for b in skipped), [b.skip for b in skipped]


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.excerpt], ids=lambda b: b.id)
def test_an_excerpt_shows_what_its_tested_file_defines(block: Block) -> None:
    assert block.excerpt is not None
    source = (ROOT / block.excerpt).read_text()
    names = re.findall(r"^\s*(class|def) (\w+)", block.text, flags=re.M)
    assert names, f"README line {block.line}: an excerpt that defines nothing"
    for kind, name in names:
        assert re.search(rf"^\s*{kind} {name}\b", source, flags=re.M), (
            f"README line {block.line} shows {kind} {name}, which {block.excerpt} does not define")


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


@pytest.mark.integration
@pytest.mark.parametrize("block", [b for b in BLOCKS if not b.skip and not b.excerpt], ids=lambda b: b.id)
def test_readme_block_runs_as_written(block: Block, sim: Simulator, tmp_path: Path) -> None:
    env = {**os.environ, **sim.environ(), "TRADEFLOOD_STORE": str(tmp_path / "store.sqlite3"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    if block.kind == "python":
        script = tmp_path / "example.py"
        script.write_text(block.text + "\n")
        command = [sys.executable, str(script)]
    else:
        command = ["bash", "-euo", "pipefail", "-c", block.text]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, (
        f"README line {block.line} failed (exit {done.returncode}):\n{block.text}\n"
        f"--- stdout ---\n{done.stdout[-2000:]}\n--- stderr ---\n{done.stderr[-4000:]}")

"""The status page in a real browser (Debian's chromium, headless, driven by selenium).

It must show the live numbers from /v1/status and a chart that updates from
/v1/stream. A screenshot goes to pytest's temporary folder, never the repo.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Running, until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


async def _in_thread(fn: Callable[[], Any]) -> Any:
    return await asyncio.to_thread(fn)


async def test_the_status_page_shows_live_numbers_and_the_chart_updates(
        server: Running, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    await _in_thread(lambda: browser.get(server.url + "/"))

    def text(element_id: str) -> str:
        return str(browser.find_element(By.ID, element_id).text)

    async def wait_text(element_id: str, predicate: Callable[[str], bool], timeout: float = 30) -> str:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await _in_thread(lambda: text(element_id))
            if predicate(value) or asyncio.get_running_loop().time() > deadline:
                return value
            await asyncio.sleep(0.2)

    assert await wait_text("health", lambda t: t == "ok") == "ok"
    assert await wait_text("chart-state", lambda t: t == "live") == "live"
    first = int(await wait_text("points", lambda t: t.isdigit() and int(t) >= 3))
    assert first >= 3
    later = int(await wait_text("points", lambda t: t.isdigit() and int(t) >= first + 5))
    assert later >= first + 5  # the chart keeps updating
    last = float(await _in_thread(lambda: text("last")))
    assert 1_000 < last < 1_000_000  # a BTC/USDT trade price from the simulator
    # the page's numbers are the server's: one topic with the page's one consumer
    await until(lambda: server.state.topics.counts() == {"topics": 1, "sinks": 1}, 10)
    topics = await wait_text("topics", lambda t: "trade bitget BTC/USDT" in t)
    assert "trade bitget BTC/USDT" in topics
    assert "spot-symbols" in await wait_text("headroom", lambda t: "spot-symbols" in t)
    assert "upstreams 1" in await wait_text("hub", lambda t: "upstreams 1" in t)
    assert int(await wait_text("clients", lambda t: t == "1")) == 1
    # the canvas really has ink on it
    painted = await _in_thread(lambda: browser.execute_script(
        "const c = document.getElementById('chart');"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n;"))
    assert painted > 100
    await _in_thread(lambda: browser.save_screenshot(str(tmp_path / "status.png")))
    assert (tmp_path / "status.png").stat().st_size > 1000

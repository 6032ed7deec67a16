"""The wheel installs everything under the tradeflood namespace, with no generic top-level names."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_only_the_tradeflood_namespace(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(dist), str(ROOT)], check=True)
    [wheel] = dist.glob("tradeflood-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"tradeflood", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    for sub in ("connectors", "bindings", "models", "server", "redflow", "testing", "store", "columnar"):
        assert f"tradeflood/{sub}/__init__.py" in names
    assert "tradeflood/py.typed" in names
    assert {"tradeflood/server/static/index.html", "tradeflood/server/static/status.js"} <= set(names)
    assert not any(n.startswith(("tests/", "bench/")) for n in names)

    env = tmp_path / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    inner = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           check=True, capture_output=True, text=True).stdout.strip()
    # The runtime dependencies come from this environment: a plain path line in a .pth file
    # adds its site-packages without running its .pth hooks (so no editable finder).
    outer = sysconfig.get_paths()["purelib"]
    Path(inner, "outer-deps.pth").write_text(outer + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    str(wheel)], check=True)
    probe = (
        "import importlib.util, sys, sysconfig, tradeflood, tradeflood.models, tradeflood.connectors;"
        "site = sysconfig.get_paths()['purelib'];"
        "assert tradeflood.__file__.startswith(site), tradeflood.__file__;"
        "generic = ('models', 'connectors', 'bindings', 'server');"
        "assert all(importlib.util.find_spec(n) is None for n in generic);"
        "from tradeflood.models import Candle; from tradeflood.connectors import Bitget;"
        "print(tradeflood.__version__, Bitget.name)"
    )
    out = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.split() == ["0.1.0", "bitget"]

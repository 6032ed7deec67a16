"""Real forward proxies on loopback for tests and benchmarks: Debian's tinyproxy, one process each.

Each :class:`TinyProxy` listens on 127.0.0.1 and connects out from its own
``Bind`` address (127.0.0.2, 127.0.0.3, ...), so a simulated venue sees every
proxy as a distinct client IP and limits (or bans) each one separately::

    with TinyProxy(bind="127.0.0.2") as proxy:
        httpx.get(sim.url("bitget") + path, proxy=proxy.url)   # the venue sees 127.0.0.2

``kill()`` ends the process abruptly (a proxy dying mid-run); ``start()``
brings it back on the same port. tinyproxy is a Debian package
(``apt-get install tinyproxy``); :func:`tinyproxy_path` says whether it is here.
"""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["TinyProxy", "free_port", "tinyproxy_path"]


def tinyproxy_path() -> str | None:
    """The tinyproxy executable, or None when it is not installed."""
    return shutil.which("tinyproxy") or next(
        (p for p in ("/usr/bin/tinyproxy", "/usr/sbin/tinyproxy") if Path(p).exists()), None)


def _die_with_parent() -> None:
    """In the child before exec: on Linux, be killed when the thread that started it ends
    (start proxies from a long-lived thread), so no proxy outlives a killed test run."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (tinyproxy cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class TinyProxy:
    """One tinyproxy process on 127.0.0.1:``port`` whose outgoing connections come from ``bind``.

    ``connect_ports`` limits the ports CONNECT may reach (none given: every port).
    ``user``/``password`` require Basic proxy authentication.
    """

    def __init__(self, bind: str = "127.0.0.2", port: int | None = None, *,
                 connect_ports: tuple[int, ...] = (), user: str | None = None,
                 password: str | None = None) -> None:
        exe = tinyproxy_path()
        if exe is None:
            raise RuntimeError("tinyproxy is not installed (Debian: apt-get install tinyproxy)")
        self.exe = exe
        self.bind = bind
        self.port = port or free_port()
        self.user, self.password = user, password
        self._dir = tempfile.TemporaryDirectory(prefix="tradeflood-tinyproxy-")
        self.config = Path(self._dir.name) / "tinyproxy.conf"
        self.log = Path(self._dir.name) / "tinyproxy.log"
        lines = [f"Port {self.port}", "Listen 127.0.0.1", f"Bind {bind}", "Timeout 30",
                 "MaxClients 200", "LogLevel Warning", "Allow 127.0.0.1", "DisableViaHeader Yes"]
        lines += [f"ConnectPort {p}" for p in connect_ports]
        if user is not None:
            lines.append(f"BasicAuth {user} {password or ''}")
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f"{self.user}:{self.password}@" if self.user is not None else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> TinyProxy:
        """Run tinyproxy in the foreground (``-d``) and return once it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            return self
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([self.exe, "-d", "-c", str(self.config)], stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tinyproxy exited with {self.process.returncode}: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"tinyproxy did not listen on port {self.port} within {timeout}s")

    def kill(self) -> None:
        """End the process at once (SIGKILL): open connections break, new ones are refused."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """End the process (SIGTERM, then SIGKILL if it lingers)."""
        self._end(signal.SIGTERM)

    def _end(self, sig: signal.Signals) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> TinyProxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

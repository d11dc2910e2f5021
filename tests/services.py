"""Real services for the distributed tests and benchmarks: a Redis of their own and
`ztbulk worker` processes.

Shared by tests/ and benchmarks/ (the `redis_url` fixture lives in the root conftest.py).
"""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A redis-server on a free port, so a test may flush or restart it; yields its URL.

    Without the binary: skipped locally, a failure when CI is set (CI must run these).
    """
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is needed for the distributed tests in CI")
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:  # say so here, not as a failure of each test
                proc.terminate()
                pytest.fail(f"redis-server did not accept connections on port {port} in 10 s")
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Workers:
    """`ztbulk worker` processes on a Redis, sharing one spool. Each writes its progress to a
    log file of its own (beside the spool), which is also how we know it is ready: a pipe
    nobody reads would block a talkative worker."""

    def __init__(self, redis_url: str, spool: Path, **env: str) -> None:
        self.broker_url = redis_url
        self.env = os.environ | {"ZTBULK_BROKER_URL": redis_url, "ZTBULK_SPOOL": str(spool)} | env
        self.logs = spool.parent / "worker-logs"
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, n: int) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        new: list[tuple[subprocess.Popen[bytes], Path]] = []
        for _ in range(n):
            log = self.logs / f"worker-{len(self.procs) + len(new)}-{time.monotonic_ns()}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "ztbulk", "worker", "--threads", "2"],
                    env=self.env, stdout=subprocess.DEVNULL, stderr=out,
                )  # fmt: skip
            new.append((proc, log))
        for proc, log in new:
            _wait_ready(proc, log)
        self.procs += [proc for proc, _ in new]

    def kill_all(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()
        self.procs = []

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while b"worker ready" not in log.read_bytes():
        assert proc.poll() is None, f"the worker ended: {log.read_text(errors='replace')}"
        assert time.monotonic() < deadline, f"the worker never said it was ready ({log})"
        time.sleep(0.02)


class SmtpSink:
    """A real, minimal SMTP server on a free port (EHLO/HELO, MAIL, RCPT, DATA, QUIT) that
    keeps each message it is given: what ztbulk sends, as a mail server gets it."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), self._handler())
        self.url = f"smtp://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[socketserver.StreamRequestHandler]:
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 sink ready\r\n")
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb == b"DATA":
                        self.wfile.write(b"354 go on\r\n")
                        sink.messages.append(self._data())
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    self.wfile.write(b"250 ok\r\n")

            def _data(self) -> bytes:
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                return b"".join(lines)

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Service:
    """`ztbulk serve` as a real process on a free port, on its own registry and spool: what
    the HTTP tests talk to. Its log goes to a file beside the spool (a pipe nobody reads would
    block it); `pid` is for measuring it (/proc/PID/status)."""

    def __init__(self, db: Path, spool: Path, **env: str) -> None:
        self.db, self.spool = db, spool
        self.env = os.environ | {"ZTBULK_SPOOL": str(spool), "ZTBULK_DB": str(db)} | env
        self.log = spool.parent / f"serve-{time.monotonic_ns()}.log"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ztbulk", "serve", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while b"Application startup complete" not in self.log.read_bytes():
            assert self.proc.poll() is None, f"ztbulk serve ended: {self.log.read_text()}"
            assert time.monotonic() < deadline, f"ztbulk serve never started ({self.log})"
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@contextmanager
def http_files(folder: Path) -> Iterator[str]:
    """A real HTTP server on a free port serving `folder` (http.server, in a thread); yields
    its base URL. For `catalog fetch`: the tests never touch the network."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # pytest would show every request as the test's output

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

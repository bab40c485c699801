"""The benchmarks' HTTP helpers: free ports, gunicorn started and stopped, a keep-alive
client with its own session cookie, and a bounded load loop (``wrk`` when installed)."""
from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def say(message: str = "") -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn(target: str, port: int, env: dict, cwd: Path, workers: int = 2
             ) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--timeout", "120", "-b",
               f"127.0.0.1:{port}", "--log-level", "warning", target]
    return subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen) -> str:
    """Stop the server started by :func:`gunicorn` (its own process group); returns the
    end of what it wrote to stderr."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.stderr is None:
        return ""
    return process.stderr.read().decode("utf-8", "replace")[-2000:]


def wait_for(port: int, host: str, path: str, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path, headers={"Host": host})
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not answer within {timeout:.0f} s")


class Client:
    """One person's browser: a keep-alive connection to 127.0.0.1, a Host header and the
    cookies the site set.  Redirects are not followed (their status is the answer)."""

    def __init__(self, port: int, host: str, timeout: float = 60.0):
        self.port, self.host, self.timeout = port, host, timeout
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, form: dict | None = None,
                headers: dict | None = None) -> tuple[int, str, dict]:
        body = urlencode(form) if form is not None else None
        sent = {"Host": self.host, **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=sent)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                       timeout=self.timeout)
                if attempt == 2:
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        return response.status, text, dict(response.getheaders())

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict, **kw):
        return self.request("POST", path, form, **kw)

    def close(self) -> None:
        self.conn.close()


def load(port: int, host: str, path: str, seconds: float, threads: int = 4,
         cookie: str | None = None) -> tuple[float, int]:
    """(requests per second, failed requests): ``wrk`` when installed, else ``threads``
    keep-alive clients looping for ``seconds`` (bounded by time, every response read)."""
    headers = {"Host": host}
    if cookie:
        headers["Cookie"] = cookie
    wrk = shutil.which("wrk")
    if wrk:
        command = [wrk, "-t", str(threads), "-c", str(threads * 2), "-d", f"{int(seconds)}s"]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        out = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"],
                             capture_output=True, text=True, check=True).stdout
        rate, failed = 0.0, 0
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("Requests/sec:"):
                rate = float(line.split()[1])
            elif line.startswith("Non-2xx or 3xx responses:"):
                failed += int(line.split(":")[1])
            elif line.startswith("Socket errors:"):
                failed += sum(int(n) for n in re.findall(r"\d+", line))
        return rate, failed
    counts = [0] * threads
    errors = [0] * threads
    stop_at = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop_at:
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    counts[n] += 1
                else:
                    errors[n] += 1
            except (OSError, http.client.HTTPException):
                errors[n] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()

    start = time.monotonic()
    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.monotonic() - start), sum(errors)

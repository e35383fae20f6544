"""AI decision start-up (figures only, nothing asserted): ``python -m ai_decision`` from process
start until /healthz answers 200, and until /readyz answers 200 against a fake sidecar (readiness
needs daprd's health probe and its metadata; the fake answers both at once, so the figure is the
app's own share). Polled every 5 ms over a plain socket, min / median / p90 over N runs.

Three set-ups, because Python start-up is dominated by reading modules:

- *as installed*: whatever bytecode the virtualenv holds (none if it was synced without
  ``--compile-bytecode`` and the environment sets ``PYTHONDONTWRITEBYTECODE``, so every start
  compiles every module it imports);
- *site-packages compiled*: what ``uv sync --compile-bytecode`` (``UV_COMPILE_BYTECODE=1``)
  gives — the workspace's own packages are editable installs outside site-packages, so with
  ``PYTHONDONTWRITEBYTECODE`` they are still compiled at every start;
- *all compiled*: the above plus ``python -m compileall`` over the workspace sources.

The compiled set-ups use ``PYTHONPYCACHEPREFIX`` on a temporary directory, warmed once, so
nothing is written into the shared virtualenv or the source tree.

Also printed: the import and composition time in one process (``import ai_decision.main`` then
``create_app``), the heaviest top-level imports from ``python -X importtime``, and the bare
interpreter start as the floor.

``python -m bench ai_decision_startup`` (runs from ``BENCH_STARTUP_RUNS``, default 10).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.005
GIVE_UP_SECONDS = 30.0
CLAUDE_ENV = {
    "AI_DECISION_ANTHROPIC_API_KEY": "sk-bench",
    "AI_DECISION_ROUTING": '{"tasks": {"fast": ["claude:claude-haiku-4-5"]}}',
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _FakeSidecar(BaseHTTPRequestHandler):
    """daprd's health probe and metadata, healthy with the components ai-decision needs."""

    METADATA = json.dumps(
        {
            "id": "ai-decision",
            "components": [{"name": "pubsub"}, {"name": "statestore"}],
            "subscriptions": [],
        }
    ).encode()

    def do_GET(self) -> None:
        if self.path.startswith("/v1.0/healthz"):
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()
        elif self.path.startswith("/v1.0/metadata"):
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(self.METADATA)))
            self.end_headers()
            self.wfile.write(self.METADATA)
        else:
            self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def fake_sidecar() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeSidecar)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def status_of(port: int, path: str) -> int | None:
    """The HTTP status of GET ``path``, or None while nothing listens."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def start_once(env: Mapping[str, str], sidecar_port: int) -> tuple[float, float] | None:
    """Seconds from spawning the process to /healthz 200 and to /readyz 200."""
    port = free_port()
    run_env = {
        **env,
        "AI_DECISION_PORT": str(port),
        "AI_DECISION_NEWS_SOURCE": "none",
        "DAPR_HTTP_PORT": str(sidecar_port),
    }
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ai_decision"],
        env=run_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        marks: list[float] = []
        for path in ("/healthz", "/readyz"):
            while True:
                if proc.poll() is not None or time.perf_counter() - started > GIVE_UP_SECONDS:
                    return None
                if status_of(port, path) == 200:
                    marks.append(time.perf_counter() - started)
                    break
                time.sleep(POLL_SECONDS)
        return marks[0], marks[1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def summary(values: list[float]) -> str:
    if not values:
        return "did not start"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (
        f"min {ordered[0]:.2f}  median {statistics.median(ordered):.2f}  p90 {p90:.2f}  "
        f"max {ordered[-1]:.2f} s"
    )


def in_process_figures(env: Mapping[str, str]) -> tuple[float, float]:
    """Seconds to import ai_decision.main and to run create_app, in a fresh interpreter."""
    script = (
        "import time; t = time.perf_counter()\n"
        "import ai_decision.main as m\n"
        "i = time.perf_counter() - t; t = time.perf_counter()\n"
        "m.create_app(m.load_settings(m.AiDecisionSettings))\n"
        "print(i, time.perf_counter() - t)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "AI_DECISION_NEWS_SOURCE": "none", "AI_DECISION_LOG_LEVEL": "WARNING"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1])


def heaviest_imports(env: Mapping[str, str], top: int = 8) -> list[tuple[str, float]]:
    """Packages by cumulative import time under ``-X importtime`` (nested ones overlap)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import ai_decision.main, uvicorn"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    totals: dict[str, float] = {}
    for line in err.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].strip()
        if "." not in name and name not in ("ai_decision", "encodings") and name not in totals:
            totals[name] = int(parts[1]) / 1e6  # cumulative: includes what it imported first
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def workspace_roots(env: Mapping[str, str]) -> list[Path]:
    """The source roots the service's own packages are imported from (editable installs)."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import ai_decision, trader_common; "
            "print(ai_decision.__path__[0]); print(trader_common.__path__[0])",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [Path(line) for line in out]


def bare_interpreter(env: Mapping[str, str], runs: int) -> list[float]:
    figures = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        figures.append(time.perf_counter() - started)
    return figures


def report(label: str, env: Mapping[str, str], runs: int, sidecar_port: int) -> None:
    print(f"\n-- {label} --")
    floor = bare_interpreter(env, runs)
    print(f"{'python -c pass':<32}{summary(floor)}")
    imports, build = zip(*(in_process_figures(env) for _ in range(max(3, runs // 2))), strict=True)
    print(f"{'import ai_decision.main':<32}{summary(list(imports))}")
    print(f"{'create_app(settings)':<32}{summary(list(build))}")
    for mode, extra in (("local model only", {}), ("routing to Claude", CLAUDE_ENV)):
        healthz: list[float] = []
        readyz: list[float] = []
        for _ in range(runs):
            marks = start_once({**env, **extra}, sidecar_port)
            if marks is not None:
                healthz.append(marks[0])
                readyz.append(marks[1])
        print(f"{mode + ': /healthz 200':<32}{summary(healthz)}")
        print(f"{mode + ': /readyz 200':<32}{summary(readyz)}")
    heavy = ", ".join(f"{name} {seconds:.2f}" for name, seconds in heaviest_imports(env))
    print(f"heaviest imports (s): {heavy}")


def main(runs: int | None = None) -> None:
    runs = runs or int(os.environ.get("BENCH_STARTUP_RUNS", "10"))
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    base["OTEL_TRACES_EXPORTER"] = "none"
    print(
        f"ai_decision start-up, {runs} runs each, polled every {POLL_SECONDS * 1000:.0f} ms "
        f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})"
    )
    with fake_sidecar() as sidecar_port, tempfile.TemporaryDirectory() as cache:
        written = "off" if base.get("PYTHONDONTWRITEBYTECODE") else "on"
        report(f"as installed (bytecode writing {written})", base, runs, sidecar_port)
        cached = {k: v for k, v in base.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached["PYTHONPYCACHEPREFIX"] = cache
        subprocess.run(  # warm the cache with everything the service can import
            [sys.executable, "-c", "import ai_decision.main, uvicorn, anthropic, jinja2"],
            env=cached,
            cwd=ROOT,
            check=True,
        )
        start_once(cached, sidecar_port)
        start_once({**cached, **CLAUDE_ENV}, sidecar_port)
        # uv sync --compile-bytecode compiles site-packages, not the workspace's editable sources
        moved = [(Path(cache) / root.relative_to(root.anchor)) for root in workspace_roots(base)]
        for path in moved:
            path.rename(f"{path}-aside")
        try:
            report(
                "site-packages compiled, workspace sources not (uv sync --compile-bytecode, "
                "PYTHONDONTWRITEBYTECODE=1)",
                {**cached, "PYTHONDONTWRITEBYTECODE": "1"},
                runs,
                sidecar_port,
            )
        finally:
            for path in moved:
                Path(f"{path}-aside").rename(path)
        report("all compiled (+ python -m compileall apps libs)", cached, runs, sidecar_port)
    print(f"(load average after: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else None)

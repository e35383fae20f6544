"""Child processes: started in their own process group, logged to a file, optionally echoed
with a coloured prefix, and stopped (TERM, then KILL) with everything they spawned."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

_COLOURS = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96]


class ManagedProcess:
    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        log_file: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        echo: bool = False,
        echo_format: Callable[[str], str | None] | None = None,
        user: str | None = None,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.log_file = log_file
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.echo = echo
        self.echo_format = echo_format
        self.user = user
        self.proc: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        command = self.command
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        log: IO[bytes] = self.log_file.open("ab")
        self.proc = subprocess.Popen(
            command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if self.echo else log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if self.echo:
            self._pump = threading.Thread(target=self._copy_output, args=(log,), daemon=True)
            self._pump.start()
        else:
            log.close()

    def _copy_output(self, log: IO[bytes]) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        colour = _COLOURS[sum(map(ord, self.name)) % len(_COLOURS)]
        prefix = (
            f"\x1b[{colour}m{self.name:>16} |\x1b[0m "
            if sys.stdout.isatty()
            else f"{self.name:>16} | "
        )
        with log:
            for raw in self.proc.stdout:
                log.write(raw)
                log.flush()
                line: str | None = raw.decode("utf-8", errors="replace").rstrip()
                if self.echo_format is not None and line:
                    line = self.echo_format(line)
                if line:
                    print(prefix + line, flush=True)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_code(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        stop_group(self.proc.pid, timeout)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=1)
        if self._pump is not None:
            self._pump.join(timeout=2)

    def kill(self) -> None:
        """SIGKILL, as a crash would: no chance to clean up."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def stop_group(pid: int, timeout: float = 10.0) -> None:
    """TERM the process group led by ``pid``; KILL it if it is still there after ``timeout``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)

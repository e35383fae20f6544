"""Ports on loopback."""

from __future__ import annotations

import random
import socket
import time

from .errors import SetupError

# Below Linux's ephemeral range (32768-60999): a port the OS hands out for outgoing
# connections can be taken again by anyone between our check and the server's bind, which made
# busy test runs flaky.
_PORT_RANGE = (20000, 32000)
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port that is free now and was not handed out before by this process."""
    for _ in range(200):
        port = random.randrange(*_PORT_RANGE)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise SetupError(
        f"no free port in {_PORT_RANGE[0]}-{_PORT_RANGE[1]} on 127.0.0.1",
        "stop some servers and try again",
    )


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def ensure_port_free(port: int, who: str, setting: str) -> None:
    if port_open(port):
        raise SetupError(
            f"port {port} for {who} is already in use",
            f"stop what uses it (e.g. `ss -ltnp | grep :{port}`) or set {setting} to another port",
        )


def wait_port(port: int, timeout: float, who: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    raise SetupError(f"{who} did not open port {port} within {timeout:.0f}s", "see its log")

"""Ports on loopback."""

from __future__ import annotations

import socket
import time

from .errors import SetupError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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

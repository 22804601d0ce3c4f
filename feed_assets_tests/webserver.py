"""A Dagster webserver started by a test: waiting until it answers, asking its GraphQL API,
stopping it as Ctrl-C does."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx


def wait_until_serving(url: str, server: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    """Until ``url`` answers ``/server_info``; fails with the end of ``log`` if the server exits,
    or after ``seconds`` (a loaded 2-core machine takes a while to load the code)."""
    deadline = time.monotonic() + seconds
    while True:
        assert server.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"the Dagster webserver did not come up in {seconds:g} s"
        time.sleep(0.5)


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    """An answer of the webserver's own GraphQL API (what the UI itself asks)."""
    answer = httpx.post(f"{url}/graphql", timeout=30, json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


def stop(server: subprocess.Popen) -> None:
    """SIGINT to the server's process group, as Ctrl-C sends; SIGKILL if it lingers."""
    os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)

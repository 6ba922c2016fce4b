"""Shared fixtures of the test suite."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def postgresql_server():
    """A PostgreSQL server of the tests' own (``tests/postgres_server.py``): started once per session, on 127.0.0.1
    and a free port, as an unprivileged user; stopped and removed afterwards. Skipped, with the reason, where no
    server can be had (no binaries, no unprivileged user, no driver)."""
    import postgres_server

    try:
        server = postgres_server.start()
    except postgres_server.Unavailable as exc:
        pytest.skip(f"no PostgreSQL server: {exc}")
    try:
        yield server
    finally:
        server.stop()

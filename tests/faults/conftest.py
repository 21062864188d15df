"""A stack of throwaway servers per test session (tests/faults/servers.py); every test in this
directory that uses it is marked ``faults`` and runs only in its own serial CI step."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.faults.servers import PostgresCluster, RedisServer, Stack


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/faults/" in str(item.fspath) and "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def stack():
    if not shutil.which("redis-server") or not (Path("/usr/lib/postgresql/15/bin") / "initdb").exists():
        pytest.fail("the fault tests need PostgreSQL 15 binaries and redis-server on this machine")
    var_dir = Path(tempfile.mkdtemp(prefix="sam-fault-var-"))
    pg, broker = PostgresCluster(), RedisServer()
    pg.start()
    broker.start()
    s = Stack(pg, broker, var_dir)
    try:
        pg.createdb()
        s.manage("migrate", "--noinput", timeout=600)
        yield s
    finally:
        s.stop_workers()
        broker.destroy()
        pg.destroy()
        shutil.rmtree(var_dir, ignore_errors=True)

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def recomputes(monkeypatch):
    """Record the drains the recorded change events ask for (their reasons) instead of running the engine."""
    calls: list[str] = []

    def fake(*, tenant, reason="", actor=None, as_of=None):
        calls.append(reason)

    monkeypatch.setattr("sam.changes._drain_handler", fake)
    return calls

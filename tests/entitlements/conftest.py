from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def recomputes(monkeypatch):
    """Record recompute requests instead of running the engine (tests assert on them)."""
    calls: list[str] = []

    def fake(*, tenant, as_of=None, reason="", actor=None, changed=None):
        calls.append(reason)

    monkeypatch.setattr("requirements_engine.services.recompute_request", fake)
    return calls

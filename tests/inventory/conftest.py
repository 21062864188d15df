from __future__ import annotations

import sys
import types

import pytest


@pytest.fixture
def recognition(monkeypatch):
    """A stand-in for catalog.recognition that records which fingerprints it was asked about."""
    calls: list[list[int]] = []
    module = types.ModuleType("catalog.recognition")
    module.fingerprints_recognise = lambda *, tenant, fingerprint_ids: calls.append(sorted(fingerprint_ids)) or 0
    monkeypatch.setitem(sys.modules, "catalog.recognition", module)
    return calls

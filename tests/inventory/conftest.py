from __future__ import annotations

import pytest


@pytest.fixture
def recognition(monkeypatch):
    """A stand-in for inventory's recognition that records which fingerprints the importer asked about."""
    calls: list[list[int]] = []
    monkeypatch.setattr("inventory.importers.fingerprints_recognise",
                        lambda *, tenant, fingerprint_ids: calls.append(sorted(fingerprint_ids)) or 0)
    return calls

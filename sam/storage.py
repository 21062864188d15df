"""Names of stored files: random, so a path says nothing and cannot be guessed."""
from __future__ import annotations

import re
import secrets
from pathlib import Path

from django.utils.deconstruct import deconstructible


@deconstructible
class RandomName:
    """``upload_to`` for stored files: ``<prefix>/<tenant id>/<32 random hex><.ext>``.

    The stored name carries nothing of the uploaded name (kept in the row for display) and cannot be
    guessed; files are never served from MEDIA_URL, only by the scoped download views.
    """

    def __init__(self, prefix: str):
        self.prefix = prefix.strip("/")

    def __call__(self, instance, filename: str) -> str:
        ext = Path(filename or "").suffix.lower()
        if not re.fullmatch(r"\.[a-z0-9]{1,8}", ext):
            ext = ""
        tenant = getattr(instance, "tenant_id", None) or "shared"
        return f"{self.prefix}/{tenant}/{secrets.token_hex(16)}{ext}"

    def __eq__(self, other) -> bool:
        return isinstance(other, RandomName) and other.prefix == self.prefix

    def __hash__(self) -> int:
        return hash(self.prefix)

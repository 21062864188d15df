"""Password rules beyond Django's own validators."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class RepeatedPatternValidator:
    """Refuse a password that is one shorter piece repeated (``passwordpassword``, ``abcabcabcabc``).

    Django's length check counts such a password as long although guessing it costs no more than
    guessing the piece.
    """

    def validate(self, password: str, user=None) -> None:
        text = password.lower()
        for size in range(1, len(text) // 2 + 1):
            if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
                raise ValidationError(_("This password is one short piece repeated."), code="password_repeated")

    def get_help_text(self) -> str:
        return _("Your password can't be one short piece repeated.")

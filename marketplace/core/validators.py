"""Validators for Chinese business identifiers."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# GB 32100-2015: unified social credit code (统一社会信用代码), 18 characters, last is a check character.
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def validate_uscc(value: str) -> None:
    code = (value or "").strip().upper()
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        raise ValidationError(
            _("A unified social credit code has 18 characters (digits and capital letters except I, O, S, V, Z).")
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise ValidationError(_("This unified social credit code's check character is wrong."))

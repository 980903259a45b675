"""Bilingual content: models keep ``<field>_zh`` and ``<field>_en``; readers get the active one."""

from django.utils.translation import get_language


def is_english() -> bool:
    return (get_language() or "zh-hans").startswith("en")


def localized(obj, field: str) -> str:
    """The English value in the English UI, else the Chinese one; falls back to whichever is set."""
    zh, en = getattr(obj, f"{field}_zh", ""), getattr(obj, f"{field}_en", "")
    return (en or zh) if is_english() else (zh or en)

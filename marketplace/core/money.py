"""Money: Decimal only, one rounding rule (ROUND_HALF_UP to the cent)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import models

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def quantize(value: Decimal | int | str) -> Decimal:
    """Round an amount to cents, half up. Refuses floats (they cannot hold money exactly) and NaN."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    amount = Decimal(value)
    if not amount.is_finite():
        raise InvalidOperation("money must be a finite amount")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def default_currency() -> str:
    return settings.MARKETPLACE["CURRENCY"]


class MoneyField(models.DecimalField):
    """An amount of money: 18 digits, 2 decimals."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("default", ZERO)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


class CurrencyField(models.CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("default", "CNY")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs

"""The deployment's one currency (settings.CURRENCY, an ISO 4217 code; CNY by default) as people
read it: a symbol beside every amount field and total. Amounts themselves stay Decimal."""

from django.conf import settings

# Symbols of the currencies a salon chain of this market is likely to run in; any other code is
# shown as itself ("CHF 80.00"), which is always correct if less pretty.
SYMBOLS = {
    "CNY": "¥",
    "JPY": "¥",
    "HKD": "HK$",
    "MOP": "MOP$",
    "TWD": "NT$",
    "SGD": "S$",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "KRW": "₩",
}


def currency_code() -> str:
    return str(settings.CURRENCY).upper()


def currency_symbol(code: str | None = None) -> str:
    """'¥' for CNY; the code itself for a currency without a known symbol."""
    code = (code or currency_code()).upper()
    return SYMBOLS.get(code, code)

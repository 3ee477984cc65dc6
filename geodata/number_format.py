"""French number format, one place for every screen, map, table and message: 1 234 567 ; 18,7 km ; 42,5 %.

Thousands are separated by a narrow no-break space (U+202F), decimals by a comma; a missing
value reads « n.d. » (non disponible) unless the caller says otherwise.
"""

from __future__ import annotations

import math

#: Thousands separator of French typography (narrow no-break space).
THOUSANDS = "\u202f"
MISSING = "n.d."


def _missing(value) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def integer(value, *, missing: str = MISSING) -> str:
    """A whole number with French thousands separators.

    >>> integer(1234567)
    '1\u202f234\u202f567'
    >>> integer(float("nan"))
    'n.d.'
    """
    if _missing(value):
        return missing
    return f"{int(round(float(value))):,}".replace(",", THOUSANDS)


def decimal(value, digits: int = 1, *, missing: str = MISSING) -> str:
    """A number with ``digits`` decimals, decimal comma and thousands separators.

    >>> decimal(18.687)
    '18,7'
    >>> decimal(12345.5, 2)
    '12\u202f345,50'
    """
    if _missing(value):
        return missing
    return f"{float(value):,.{digits}f}".replace(",", THOUSANDS).replace(".", ",")


def short(value) -> str:
    """A setting as typed, shortest form: 12,5 ; 1 ; 0,3.

    >>> short(12.5), short(1.0), short(0.3)
    ('12,5', '1', '0,3')
    """
    return f"{float(value):g}".replace(".", ",")


def km(value, digits: int = 1, *, missing: str = MISSING) -> str:
    """A distance in kilometres.

    >>> km(18.687)
    '18,7 km'
    >>> km(float("inf"), missing="aucun acteur")
    'aucun acteur'
    """
    if _missing(value) or not math.isfinite(float(value)):
        return missing
    return f"{decimal(value, digits)} km"


def percent(share, digits: int = 1, *, missing: str = MISSING) -> str:
    """A share (0 to 1) as a percentage.

    >>> percent(0.4251)
    '42,5\u202f%'
    """
    if _missing(share):
        return missing
    return f"{decimal(float(share) * 100, digits)}{THOUSANDS}%"


def signed(value) -> str:
    """A change with its sign: +1 234, -56.

    >>> signed(1234), signed(-56)
    ('+1\u202f234', '-56')
    """
    return ("+" if value >= 0 else "-") + integer(abs(value))


def between(low, high, fmt=integer) -> str:
    """A range as officials read it, or one figure when both ends agree.

    >>> between(812000, 915000)
    'entre 812\u202f000 et 915\u202f000'
    >>> between(3, 3)
    '3'
    """
    if fmt(low) == fmt(high):
        return fmt(low)
    return f"entre {fmt(low)} et {fmt(high)}"

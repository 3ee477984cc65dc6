"""The one French number format: thousands, decimal comma, missing values, ranges."""

from __future__ import annotations

import math

import pytest

from geodata import number_format as nf

NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: nf.integer(1234567), f"1{NNBSP}234{NNBSP}567"),
        (lambda: nf.integer(999.6), f"1{NNBSP}000"),
        (lambda: nf.integer(None), "n.d."),
        (lambda: nf.integer("x", missing="inconnue"), "inconnue"),
        (lambda: nf.decimal(18.687), "18,7"),
        (lambda: nf.km(18.687), "18,7 km"),
        (lambda: nf.km(math.inf, missing="aucun acteur"), "aucun acteur"),
        (lambda: nf.percent(0.187), f"18,7{NNBSP}%"),
        (lambda: nf.percent(math.nan), "n.d."),
        (lambda: nf.short(12.5), "12,5"),
        (lambda: nf.signed(-1234), f"-1{NNBSP}234"),
        (lambda: nf.between(812_000, 915_000), f"entre 812{NNBSP}000 et 915{NNBSP}000"),
        (lambda: nf.between(7, 7), "7"),
    ],
)
def test_french_number_format(call, expected):
    assert call() == expected

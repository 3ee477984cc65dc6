"""Cells a spreadsheet would run as formulas are neutralised here, for every CSV the project writes."""

from __future__ import annotations

import re

import pandas as pd

#: A cell starting with one of these runs as a formula in Excel or LibreOffice.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Plain numbers (-1.5, +33) are read as numbers, not formulas: left alone.
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


def neutralise_value(value):
    """Prefix a text cell that would run as a formula with an apostrophe; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Vectorised :func:`neutralise_value` over a column (only the risky cells are rewritten)."""
    first = values.astype("str").str[:1]
    candidates = values[first.isin(list("".join(FORMULA_START))).fillna(False).astype(bool)]
    risky = [i for i, v in candidates.items() if isinstance(v, str) and not _PLAIN_NUMBER.fullmatch(v)]
    if not risky:
        return values
    out = values.astype("object")
    out.loc[risky] = ["'" + v for v in values.loc[risky]]
    return out


def neutralise_frame(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose header and every column that is neither numeric nor boolean are safe to open in a spreadsheet."""
    out = pd.DataFrame(table).copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
            out[col] = neutralise_formulas(out[col])
    out.columns = list(neutralise_formulas(pd.Series(out.columns, dtype="object")))
    return out

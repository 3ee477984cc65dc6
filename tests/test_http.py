"""The one retry policy of every outgoing request (geodata/_http.py), against loopback servers."""

from __future__ import annotations

import pytest

from geodata._http import retry_after_seconds as _retry_after


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("1.5", 1.5), ("-4", 0.0), ("nan", None), ("demain", None), (None, None)])
def test_retry_after_header_values(header, seconds):
    assert _retry_after(header) == seconds

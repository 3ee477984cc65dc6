"""The escaping helper: hostile text never survives as markup or JavaScript."""

import pytest

from cartography.escape import escape_text, link_html, safe_url

HOSTILE = [
    '<script>alert("x")</script>',
    "<img src=x onerror=alert(1)>",
    "${alert(1)}",
    "`backtick` \\ back",
    "\"quotes' & ampersand",
    "=HYPERLINK(\"http://evil\")",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_no_markup_or_template_survives(text):
    out = escape_text(text)
    for ch in "<>`$\\\"'":
        assert ch not in out


def test_missing_values():
    assert escape_text(None) == "" and escape_text(float("nan")) == ""


@pytest.mark.parametrize(
    ("url", "ok"),
    [("https://www.cite-espace.com", True), ("http://x.fr/a?b=c", True), ("javascript:alert(1)", False), ("JaVaScRiPt:alert(1)", False),
     ("data:text/html,<script>", False), ("//evil.example", False), ("https://", False), ("https://a.fr/\nx", False), (None, False)],
)
def test_safe_url(url, ok):
    assert (safe_url(url) is not None) is ok


def test_link_html_escapes_label_and_url():
    out = link_html('https://a.fr/?q="><script>', "<b>Nom</b>")
    assert "<script>" not in out and "<b>" not in out and out.startswith('<a href="https://a.fr/?q=&quot;&gt;&lt;script&gt;"')
    assert link_html("javascript:alert(1)", "Site") == "Site"

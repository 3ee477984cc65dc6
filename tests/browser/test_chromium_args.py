"""The browser the tests and the benchmarks drive: Playwright's own switches kept, Chrome's omnibox page not built."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.app import _tree
from tasks import CHROMIUM_OWN_UI, playwright_disabled_features


def _chromium_processes() -> list[list[str]]:
    """Command lines of this process's descendants that are Chromium's."""
    out = []
    for pid in _tree(os.getpid())[1:]:
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().split()
        except OSError:
            continue
        if args and "chromium" in args[0]:
            out.append(args)
    return out


def test_one_disable_features_list_carries_playwrights_and_ours(browser):
    main = [a for a in _chromium_processes() if not any(x.startswith("--type=") for x in a)]
    assert main, "le processus principal de Chromium est introuvable"
    lists = [a.split("=", 1)[1].split(",") for a in main[0] if a.startswith("--disable-features=")]
    assert lists, main[0]
    kept = set(lists[-1])  # Chromium keeps only the last one
    assert playwright_disabled_features(), "la liste de Playwright n'a pas été lue"
    assert {f for first in lists[:-1] for f in first} <= kept
    assert set(CHROMIUM_OWN_UI) <= kept


def test_a_new_context_builds_no_omnibox_page(browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto("data:text/html,<p>carte</p>")
        page.wait_for_timeout(500)
        webui = [a for a in _chromium_processes() if "--top-chrome-webui" in a]
        assert webui == []
    finally:
        context.close()

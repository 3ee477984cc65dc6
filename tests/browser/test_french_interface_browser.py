"""In a real browser, Streamlit's own words are French: the file uploader, accessible names, the page's language."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from geodata.auth import hash_password
from geodata.directory import SAMPLE_FILE
from tests.browser.conftest import SCREENSHOTS, sign_in, start_app, stop

PASSWORD = "mot de passe de test"  # noqa: S105 (test account, hashed below)
WAIT = 120_000
#: Streamlit's English words that a user could see or hear (visible texts and accessible names).
ENGLISH = re.compile(
    r"\b(Drag and drop|Browse files|Upload|Limit \d+|per file|file upload|Add files|Help for|Running|Press Enter|No results|"
    r"Choose an? options?|Clear value|Increment|Decrement|Main menu|Collapse sidebar|Expand sidebar|Download as CSV|Fullscreen|"
    r"Search|Show/hide columns|Scroll tabs|does not seem to exist|\d+(?:\.\d+)?\s?[KMG]?B)\b"
)
#: Every accessible name, title and placeholder of the page.
NAMES = "() => [...document.querySelectorAll('[aria-label], [title], [placeholder]')].flatMap(e => ['aria-label', 'title', 'placeholder'].map(a => e.getAttribute(a)).filter(Boolean))"


@pytest.fixture(scope="module")
def staff_app(tmp_path_factory):
    proc, url = start_app(tmp_path_factory.mktemp("french"), {"CSTI_STAFF_ACCOUNTS": f"alice:{hash_password(PASSWORD, rounds=4)}"})
    yield url
    stop(proc)


def _page(browser, width: int, height: int, touch: bool):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US", has_touch=touch, is_mobile=touch)
    page = context.new_page()
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(("http://127.0.0.1", "data:", "about:")) else route.abort()
    )
    return context, page


def _english(page) -> list[str]:
    texts = [page.locator("body").inner_text(), *page.evaluate(NAMES)]
    texts += page.locator('[data-testid="stSlider"]').all_inner_texts()
    return [m.group(0) for text in texts for m in ENGLISH.finditer(text)]


@pytest.mark.parametrize(("width", "height", "touch"), [(1440, 900, False), (390, 844, True)])
def test_the_import_uploader_speaks_french_and_still_takes_the_file(browser, staff_app, width, height, touch):
    context, page = _page(browser, width, height, touch)  # an English browser: the app stays French
    try:
        sign_in(page, staff_app + "/import", PASSWORD)
        uploader = page.locator('[data-testid="stFileUploader"]')
        uploader.get_by_text("Parcourir", exact=True).wait_for(timeout=WAIT)
        text = uploader.inner_text()
        assert "200 Mo au plus par fichier • CSV, TXT, XLSX" in text and not ENGLISH.search(text), text
        # Screen readers hear French too: the button's name, the file input's and the help's.
        assert page.get_by_role("button", name="Parcourir").count() == 1
        assert uploader.locator('input[type="file"]').get_attribute("aria-label") == "Déposer un fichier"
        assert uploader.get_by_role("button", name="Aide : Fichier de l'enquête").count() == 1
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert _english(page) == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"import-televersement-{width}.png"))
        uploader.locator('input[type="file"]').set_input_files(str(SAMPLE_FILE))
        page.get_by_text("1. Correspondance des colonnes").wait_for(timeout=WAIT)
        uploader.get_by_text(SAMPLE_FILE.name).wait_for(timeout=WAIT)
        assert re.search(r"\d+,\d ko", uploader.inner_text()), uploader.inner_text()  # the file's size, in French units
        page.locator('[data-testid="stDataFrame"], [data-testid="stDataEditor"]').first.wait_for(timeout=WAIT)
        page.wait_for_timeout(1000)
        assert _english(page) == [], _english(page)
        page.screenshot(path=str(SCREENSHOTS / f"import-fichier-depose-{width}.png"))
    finally:
        context.close()


def test_the_coverage_page_has_no_english_word(browser, staff_app):
    context, page = _page(browser, 1440, 900, False)
    try:
        page.goto(staff_app + "/couverture")
        page.get_by_text("Habitants ruraux hors de portée").first.wait_for(timeout=WAIT)
        page.locator('[data-testid="stNumberInput"]').first.wait_for(timeout=WAIT)
        assert page.locator('[data-testid="stNumberInput"] button[aria-label="Augmenter"]').count() == 1
        # Sliders' numbers take a decimal comma (« 15,00 », not « 15.00 »).
        values = page.locator('[data-testid="stSliderThumbValue"]').all_inner_texts()
        assert values and all(re.fullmatch(r"\d+,\d+", v) for v in values), values
        for tab in ("Communes rurales hors de portée", "Par intercommunalité"):
            page.get_by_role("tab", name=tab).click()
            page.locator('[role="tabpanel"]:visible [data-testid="stDataFrame"]').first.hover()
            page.wait_for_timeout(500)
            assert _english(page) == [], (tab, _english(page))
    finally:
        context.close()


def test_no_page_shows_streamlit_english(browser, staff_app):
    """Every page, signed in (the staff pages too), at 1440 px: no English word of Streamlit's seen or heard."""
    context, page = _page(browser, 1440, 900, False)
    try:
        sign_in(page, staff_app + "/import", PASSWORD)
        page.get_by_text("Se déconnecter").wait_for(timeout=WAIT)
        found = {}
        pages = {
            "Carte": "carte",
            "Statistiques": "statistiques",
            "Couverture territoriale": "couverture",
            "Import & géocodage": "import",
            "Édition": "edition",
            "Exports": "exports",
            "Géographie de référence": "geographie",
        }
        for title, path in pages.items():
            page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
            # The map is the default page: its address is the root, with the view in the query.
            page.wait_for_url(
                lambda u, p=path: urlsplit(u).path in (f"/{p}", "/" if p == "carte" else None), timeout=WAIT, wait_until="commit"
            )
            page.locator('[data-testid="stMain"] [data-testid="stElementContainer"]:visible').first.wait_for(timeout=WAIT)
            page.wait_for_timeout(3000)
            found[title] = _english(page)
        assert not any(found.values()), found
        page.goto(staff_app + "/inexistante")  # Streamlit's own dialog
        page.get_by_text("Page introuvable").wait_for(timeout=WAIT)
        assert "Cette page n'existe pas : voici la page d'accueil." in page.locator("body").inner_text()
        assert _english(page) == []
    finally:
        context.close()

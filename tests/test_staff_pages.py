"""Staff pages through app.py: nothing but a login form without a login, editing with conflicts, exports; HTTP check."""

import concurrent.futures
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from geodata.auth import hash_password
from geodata.store import STORE_FILE, Store
from tasks import chromium_args
from tests.staff_data import PRIVATE_VALUES, private_actors

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
STAFF_PAGES = ["pages/edition.py", "pages/exports.py", "pages/import_geocodage.py", "pages/geographie.py"]
PUBLIC_PAGES = ["pages/carte.py", "pages/statistiques.py", "pages/couverture.py"]
PASSWORD = "mot de passe de test"  # noqa: S105 (test account, hashed below)
#: Names of stored actors: data that a visitor must not see on a staff page either.
STORE_ONLY = ("ex-001", "Grotte de Niaux")


@pytest.fixture(scope="module")
def accounts() -> str:
    hashed = hash_password(PASSWORD, rounds=4)
    return f"alice:{hashed};bob:{hashed};carol:{hashed}"


@pytest.fixture
def staff_env(tmp_path, monkeypatch, accounts) -> Store:
    """A data folder whose store holds actors with personal contacts, and three staff accounts."""
    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CSTI_STAFF_ACCOUNTS", accounts)
    st.cache_resource.clear()  # fresh login throttle
    store = Store(tmp_path / STORE_FILE)
    store.replace_all(private_actors(12), user="test")
    return store


def all_text(at: AppTest) -> str:
    """Everything the server would send to the browser for this run (every element's protobuf, as text)."""
    return "\n".join(str(getattr(node, "proto", "")) for node in at._tree)


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def login(at: AppTest, user: str, password: str) -> AppTest:
    by_label = {t.label: t for t in at.text_input}
    by_label["Identifiant"].input(user)
    by_label["Mot de passe"].input(password)
    next(b for b in at.button if b.label == "Se connecter").click()
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_staff_page_without_login_shows_only_the_login_form(staff_env, page):
    at = open_page(page)
    assert [t.label for t in at.text_input] == ["Identifiant", "Mot de passe"]
    assert at.text_input[1].proto.type == at.text_input[1].proto.PASSWORD
    assert len(at.dataframe) == 0 and len(at.selectbox) == 0 and len(at.sidebar.button) == 0
    text = all_text(at)
    for value in (*PRIVATE_VALUES, *STORE_ONLY):
        assert value not in text


@pytest.mark.parametrize("page", PUBLIC_PAGES)
def test_public_pages_show_no_private_value(staff_env, page):
    text = all_text(open_page(page))
    if page == "pages/carte.py":  # the map page the iframe loads, and its strings once inflated
        import re

        from cartography.actors_map import embedded_strings, page_data

        html = (ROOT / "static" / re.search(r"/app/static/(vendor/carte/carte-[0-9a-f]+\.html)", text).group(1)).read_text(encoding="utf-8")
        strings = embedded_strings(page_data(html)["z"])
        assert page_data(html)["count"] <= 12 and page_data(html)["cfg"]["note"] == ""  # the store's actors: not labelled as the sample
        text += html + "\n".join(strings)
    for value in PRIVATE_VALUES:
        assert value not in text


def test_wrong_password_is_refused_then_slowed_down(staff_env):
    at = open_page("pages/edition.py")
    for _ in range(2):
        login(at, "alice", "mauvais")
        assert at.error[0].value == "Identifiant ou mot de passe incorrect."
    login(at, "alice", "mauvais")
    assert "Prochain essai possible" in at.error[0].value
    login(at, "alice", PASSWORD)  # locked: even the right password waits
    assert "Trop d'essais" in at.error[0].value
    text = all_text(at)
    assert all(value not in text for value in (*PRIVATE_VALUES, *STORE_ONLY))


def test_failures_from_one_client_do_not_lock_the_user_on_another(staff_env, monkeypatch):
    import pages.common

    client = {"address": "198.51.100.9"}
    monkeypatch.setattr(pages.common, "_client_address", lambda: client["address"])
    throttle, now = pages.common._login_throttle(), [1000.0]
    monkeypatch.setattr(throttle, "clock", lambda: now[0])
    attacker = open_page("pages/edition.py")
    for _ in range(12):  # an attacker who knows the user name, waiting out each lockout
        now[0] += throttle.wait_time("alice", client["address"])
        assert "incorrect" in login(attacker, "alice", "devinette").error[0].value
    assert "Trop d'essais" in login(attacker, "alice", PASSWORD).error[0].value  # that pair is locked
    client["address"] = "203.0.113.7"  # Alice, in another browser on another network
    at = login(open_page("pages/edition.py"), "alice", PASSWORD)
    assert not at.error
    assert "alice" in at.sidebar.caption[0].value and "Grotte de Niaux" in all_text(at)


def test_login_then_logout(staff_env):
    at = login(open_page("pages/edition.py"), "bob", PASSWORD)
    assert not at.error
    text = all_text(at)
    assert "Grotte de Niaux" in text and PRIVATE_VALUES[1] in text  # staff see the survey contacts
    assert "bob" in at.sidebar.caption[0].value
    at.sidebar.button[0].click()
    at.run()
    assert [t.label for t in at.text_input] == ["Identifiant", "Mot de passe"]
    assert PRIVATE_VALUES[1] not in all_text(at)


def test_edit_saves_then_detects_a_concurrent_change(staff_env):
    at = login(open_page("pages/edition.py"), "alice", PASSWORD)
    first_id = staff_env.list_actors().loc[0, "id"]
    nom = next(t for t in at.text_input if t.label == "Nom")
    nom.input("Grotte de Niaux (modifiée)")
    next(b for b in at.button if b.label == "Enregistrer").click()
    at.run()
    assert not at.exception, at.exception
    saved = staff_env.get(first_id)
    assert (saved["nom"], saved["version"]) == ("Grotte de Niaux (modifiée)", 2)
    assert staff_env.history(first_id).iloc[0]["user"] == "alice"
    assert any("Fiche enregistrée" in s.value for s in at.success)

    # Bob saves the same actor from another session while Alice's form is open at version 2.
    staff_env.update(first_id, {"nom": "Version de Bob"}, expected_version=2, user="bob")
    next(t for t in at.text_input if t.label == "Nom").input("Version d'Alice")
    next(b for b in at.button if b.label == "Enregistrer").click()
    at.run()
    assert any("Conflit" in e.value for e in at.error)
    assert staff_env.get(first_id)["nom"] == "Version de Bob"


def test_history_tab_restores_a_deleted_actor(staff_env):
    first = staff_env.list_actors().iloc[0]
    staff_env.delete(first["id"], expected_version=int(first["version"]), user="bob")
    at = login(open_page("pages/edition.py"), "carol", PASSWORD)
    change = next(s for s in at.selectbox if s.label == "Changement")
    assert change.value == int(staff_env.history().iloc[0]["change_id"])
    next(b for b in at.button if b.label == "Annuler ce changement").click()
    at.run()
    assert not at.exception, at.exception
    restored = staff_env.get(first["id"])
    assert restored is not None and restored["contact_email"] == PRIVATE_VALUES[1]


def test_exports_page_offers_public_then_labelled_private_file(staff_env):
    at = login(open_page("pages/exports.py"), "alice", PASSWORD)
    next(b for b in at.button if b.label == "Préparer le fichier").click()
    at.run()
    assert not at.exception, at.exception
    text = all_text(at)
    assert "Télécharger csti-occitanie-acteurs" in text and "PRIVE" not in text
    at.toggle[0].set_value(True)
    at.run()
    assert any("EXPORT PRIVÉ" in w.value for w in at.warning)
    next(b for b in at.button if b.label == "Préparer le fichier").click()
    at.run()
    text = all_text(at)
    assert "Télécharger l’export PRIVÉ" in text and "-PRIVE.geojson" in text


def test_exports_page_filters_per_intercommunality_as_per_department(staff_env, reference):
    """Issue 15 item 2: the export per department is also given per EPCI (the same Selection, one filter more)."""
    import re

    at = login(open_page("pages/exports.py"), "alice", PASSWORD)
    carcassonne = reference.communes.set_index("code_insee").at["11069", "code_epci"]  # Carcassonne Agglo
    members = set(reference.communes.loc[reference.communes["code_epci"] == carcassonne, "nom"])
    expected = int(private_actors(12)["commune"].isin(members).sum())
    epci = next(m for m in at.multiselect if m.label == "Intercommunalités (EPCI)")
    assert "Carcassonne Agglo" in epci.format_func(carcassonne)
    epci.set_value([carcassonne]).run()
    assert not at.exception, at.exception
    caption = next(c.value for c in at.caption if "acteurs sur" in c.value)
    assert re.match(r"(\d+) acteurs sur 12", caption).group(1) == str(expected) and 0 < expected < 12, caption


def test_a_clicked_for_file_is_deleted_by_the_lifetime_timer(monkeypatch):
    """What « Télécharger » sets up: the file is built on the click, and a timer deletes it a minute later."""
    import types

    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.media_file_storage import MediaFileStorageError
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    import pages.common

    storage = MemoryMediaFileStorage("/media")
    files = MediaFileManager(storage)
    monkeypatch.setattr(pages.common, "runtime", types.SimpleNamespace(exists=lambda: True, get_instance=lambda: types.SimpleNamespace(media_file_mgr=files)))
    timers, buttons = [], []
    monkeypatch.setattr(pages.common.threading, "Timer", lambda delay, fn: types.SimpleNamespace(delay=delay, fn=fn, start=lambda: timers.append((delay, fn))))
    monkeypatch.setattr(pages.common.st, "download_button", lambda label, data, **kw: buttons.append((data, kw)))

    pages.common.download_on_click("Télécharger", lambda: b"contact@example.org", file_name="x-PRIVE.csv", mime="text/csv")
    (build, options), = buttons
    assert callable(build) and options["on_click"] == "ignore" and timers == []  # nothing built before the click
    url = files.execute_deferred(files.add_deferred(build, "text/csv", "coords", file_name="x-PRIVE.csv"))  # the click
    name = url.rsplit("/", 1)[1]
    assert storage.get_file(name).content == b"contact@example.org"
    (delay, fn), = timers
    assert delay == pages.common.DOWNLOAD_LIFETIME == 60
    files.clear_session_refs("dontcare")
    files.remove_orphaned_files()  # Streamlit's own sweep only marks a download file...
    assert storage.get_file(name)
    fn()  # ...the timer deletes it
    with pytest.raises(MediaFileStorageError):
        storage.get_file(name)


# -- HTTP against a real server --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (loopback only)
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def server(staff_env, tmp_path, cache_dir):
    port = _free_port()
    env = {**os.environ, "CSTI_DATA_DIR": str(tmp_path), "CSTI_CACHE_DIR": str(cache_dir), "CSTI_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if _get(f"{base}/_stcore/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.25)
        else:
            pytest.fail("le serveur Streamlit n'a pas démarré")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_http_responses_never_carry_private_values(server):
    paths = ["/", "/carte", "/edition", "/exports", "/import", "/_stcore/health", "/_stcore/host-config",
             "/app/static/../../geodata/store.py", "/annuaire.sqlite", "/media/annuaire.sqlite"]
    seen = 0
    for path in paths:
        status, body = _get(server + path)
        seen += status == 200
        for value in (*PRIVATE_VALUES, *STORE_ONLY):
            assert value.encode() not in body, (path, value)
    assert seen >= 5




def with_chromium(work):
    """Run ``work(browser)`` with Debian's Chromium in a thread of its own.

    Playwright's sync API refuses a thread whose asyncio loop is taken (another test module
    may keep a session-wide Playwright open in the main thread).
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Chromium absent")

    def run():
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=chromium_args())
            try:
                return work(browser)
            finally:
                browser.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _browser_login(page, url: str, user: str = "alice", password: str = PASSWORD) -> None:
    """Open ``url`` and submit the staff login form."""
    page.goto(url)
    page.get_by_label("Identifiant").fill(user)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.browser
def test_browser_sees_only_the_login_form(server):
    """What a real browser renders over the websocket: the login form, no stored data."""

    def work(browser):
        page = browser.new_page()
        for path in ("/edition", "/exports", "/import"):
            page.goto(server + path)
            page.get_by_text("Espace réservé à l'équipe").wait_for(timeout=30_000)
            page.get_by_label("Mot de passe").wait_for(timeout=10_000)
            html = page.content()
            for value in (*PRIVATE_VALUES, *STORE_ONLY):
                assert value not in html, (path, value)
        # After a login in the browser, staff data does show: the check above can see it when present.
        _browser_login(page, server + "/edition")
        page.get_by_text("Se déconnecter").wait_for(timeout=30_000)
        page.get_by_text("Modifier, déplacer, supprimer").wait_for(timeout=30_000)
        assert "Espace réservé" not in page.content()

    with_chromium(work)


@pytest.mark.browser
def test_private_download_dies_at_logout(server):
    """The /media/ URL of a private export answers 404 (plain HTTP, no cookie) once staff have logged out."""

    def work(browser):
        page = browser.new_page(accept_downloads=True)
        media = []  # requests for served files (a button holding its file checks its URL as soon as it is drawn)
        page.on("request", lambda r: media.append(r.url) if urllib.parse.urlsplit(r.url).path.startswith("/media/") else None)
        _browser_login(page, server + "/exports")
        page.get_by_text("Export PRIVÉ : inclure").click(timeout=60_000)
        page.get_by_text("Demandé par alice").wait_for(timeout=30_000)
        page.get_by_role("button", name="Préparer le fichier").click()
        button = page.get_by_role("button", name="Télécharger l’export PRIVÉ")
        button.wait_for(timeout=60_000)
        page.wait_for_timeout(500)
        assert media == []  # the private file is built only on the click below
        with page.expect_download(timeout=30_000) as download:
            button.click()
        url = download.value.url
        status, body = _get(url)  # a bare HTTP client, no cookie
        assert url.startswith(server + "/media/") and status == 200 and PRIVATE_VALUES[1].encode() in body
        page.get_by_role("button", name="Se déconnecter").click()
        page.get_by_label("Mot de passe").wait_for(timeout=30_000)
        return url

    url = with_chromium(work)
    assert _get(url)[0] == 404


@pytest.mark.browser
def test_lockout_is_per_client_address_through_a_real_server(server):
    """Behind a proxy on the same machine, the address comes from X-Forwarded-For: one client's lockout is its own."""

    def attempt(browser, address: str, password: str) -> str:
        context = browser.new_context(extra_http_headers={"X-Forwarded-For": address})
        page = context.new_page()
        _browser_login(page, server + "/edition", password=password)
        outcome = page.get_by_text("Se déconnecter").or_(page.get_by_role("alert"))
        outcome.first.wait_for(timeout=30_000)
        text = outcome.first.inner_text()
        context.close()
        return text

    def work(browser):
        seen = [attempt(browser, "198.51.100.9", "devinette") for _ in range(3)]  # a new session each time
        seen.append(attempt(browser, "203.0.113.7", "devinette"))
        seen.append(attempt(browser, "203.0.113.7", PASSWORD))
        return seen

    seen = with_chromium(work)
    assert seen[0] == seen[1] == "Identifiant ou mot de passe incorrect."
    assert "Prochain essai possible" in seen[2]  # three sessions, one address: counted together, that pair is locked
    assert seen[3] == "Identifiant ou mot de passe incorrect."  # another address starts from zero (no wait, no lock)
    assert seen[4] == "Se déconnecter"  # and Alice is in


OIDC = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "csti",
                 "client_secret": "s", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"},
        "staff_emails": ["alice@reseau-csti.fr"]}


@pytest.mark.parametrize(
    ("user", "sees_data", "message"),
    [
        ({"is_logged_in": False}, False, "Se connecter"),
        ({"is_logged_in": True, "email": "mallory@ailleurs.fr"}, False, "pas autorisé dans l"),
        ({"is_logged_in": True, "email": "Alice@reseau-csti.fr"}, True, "Se déconnecter"),
    ],
)
def test_openid_connect_login(staff_env, user, sees_data, message):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets.update(OIDC)
    at.user = user
    at.run()
    at.switch_page("pages/edition.py")
    at.run()
    assert not at.exception, at.exception
    text = all_text(at)
    assert message in text
    assert ("Grotte de Niaux" in text) is sees_data
    assert (PRIVATE_VALUES[1] in text) is sees_data
    assert not [t for t in at.text_input if t.label == "Mot de passe"]  # no local form when OIDC is configured


def test_openid_connect_logout_forgets_the_session(staff_env, monkeypatch):
    import pages.common

    ended = []
    monkeypatch.setattr(pages.common, "collect_downloads", lambda: ended.append("downloads"))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets.update(OIDC)
    at.user = {"is_logged_in": True, "email": "alice@reseau-csti.fr"}
    at.run()
    at.switch_page("pages/exports.py")
    at.run()
    next(b for b in at.button if b.label == "Préparer le fichier").click()
    at.run()
    assert "export_file" in at.session_state
    next(b for b in at.sidebar.button if b.label == "Se déconnecter").click()
    at.run()
    assert not at.exception, at.exception
    assert ended == ["downloads"] and "export_file" not in at.session_state


def test_add_with_validation_and_move_to_a_commune(staff_env):
    at = login(open_page("pages/edition.py"), "alice", PASSWORD)
    form = "add_actor"

    def field(label):
        return next(t for t in at.text_input if t.label == label and form in str(t.proto.form_id))

    field("Identifiant (vide = généré)").input("nouveau-1")
    field("Nom").input("Planétarium <script>alert(1)</script>")
    field("Code postal").input("310")
    next(b for b in at.button if b.label == "Ajouter l'acteur").click()
    at.run()
    assert any("Code postal" in e.value and "'310'" in e.value for e in at.error)
    assert staff_env.get("nouveau-1") is None

    field("Code postal").input("31000")
    next(b for b in at.button if b.label == "Ajouter l'acteur").click()
    at.run()
    assert not at.exception, at.exception
    assert staff_env.get("nouveau-1")["nom"] == "Planétarium <script>alert(1)</script>"

    first = staff_env.list_actors().iloc[0]
    next(r for r in at.radio if r.label == "Nouvel emplacement").set_value("Commune")
    at.run()
    next(s for s in at.selectbox if s.label == "Commune").set_value("31069")
    next(b for b in at.button if b.label == "Déplacer").click()
    at.run()
    assert not at.exception, at.exception
    moved = staff_env.get(first["id"])
    assert (moved["code_insee"], moved["commune"], moved["latitude"], moved["version"]) == ("31069", "Blagnac", "", 2)
    said = " ".join(s.value for s in at.success)
    assert f"Position de « {first['nom']} » corrigée par alice : " in said and "→ Blagnac (31069)." in said

    # By coordinates (a tap on the small map fills them in): the commune is recomputed from the point and said.
    next(r for r in at.radio if r.label == "Nouvel emplacement").set_value("Coordonnées")
    at.run()
    next(t for t in at.text_input if t.label == "Longitude (WGS 84)").input("1.4526")
    next(t for t in at.text_input if t.label == "Latitude (WGS 84)").input("43.5995")
    next(b for b in at.button if b.label == "Déplacer").click()
    at.run()
    assert not at.exception, at.exception
    said = " ".join(s.value for s in at.success)
    assert ": Blagnac (31069), latitude " in said and " → Toulouse (31555), latitude 43,599500, longitude 1,452600." in said  # old → new
    assert staff_env.history(first["id"]).iloc[0]["user"] == "alice" and staff_env.get(first["id"])["longitude"] == "1.4526"


def test_empty_store_is_seeded_from_the_shown_directory(tmp_path, monkeypatch, accounts):
    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CSTI_STAFF_ACCOUNTS", accounts)
    st.cache_resource.clear()
    at = login(open_page("pages/edition.py"), "alice", PASSWORD)
    next(b for b in at.button if b.label.startswith("Initialiser")).click()
    at.run()
    assert not at.exception, at.exception
    from geodata.directory import load_directory

    shown = len(load_directory())
    assert len(Store(tmp_path / STORE_FILE)) == shown
    assert any(f"{shown} fiches" in s.value for s in at.success)


# -- OpenID Connect end to end, against a loopback provider ----------------------------------------------------------


class _Provider:
    """A minimal OpenID Connect provider on 127.0.0.1: discovery, authorize, token (RS256 id_token), JWKS."""

    def __init__(self, email: str):
        import http.server
        import json
        import threading
        import urllib.parse

        from joserfc import jwt
        from joserfc.jwk import RSAKey

        self.email = email
        key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        nonces: dict[str, str] = {}
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, payload):
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    self._json({"issuer": provider.base, "authorization_endpoint": f"{provider.base}/authorize",
                                "token_endpoint": f"{provider.base}/token", "jwks_uri": f"{provider.base}/jwks",
                                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                                "id_token_signing_alg_values_supported": ["RS256"]})
                elif url.path == "/jwks":
                    self._json({"keys": [key.as_dict(private=False)]})
                elif url.path == "/authorize":
                    nonces["code-1"] = query.get("nonce", "")
                    target = f"{query['redirect_uri']}?{urllib.parse.urlencode({'code': 'code-1', 'state': query['state']})}"
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                else:
                    self.send_error(404)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                now = int(time.time())
                claims = {"iss": provider.base, "sub": "agent-1", "aud": "csti", "iat": now, "exp": now + 600,
                          "nonce": nonces.get(form.get("code", ""), ""), "email": provider.email, "email_verified": True}
                token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
                self._json({"access_token": "a", "token_type": "Bearer", "expires_in": 600, "id_token": token})

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.browser
@pytest.mark.parametrize(("email", "allowed"), [("alice@reseau-csti.fr", True), ("mallory@ailleurs.fr", False)])
def test_openid_connect_end_to_end(staff_env, tmp_path, cache_dir, email, allowed):
    pytest.importorskip("authlib")
    pytest.importorskip("joserfc")
    provider = _Provider(email)
    port = _free_port()
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        f'staff_emails = ["alice@reseau-csti.fr"]\n[auth]\nredirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{"s" * 40}"\nclient_id = "csti"\nclient_secret = "secret"\n'
        f'server_metadata_url = "{provider.base}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "CSTI_DATA_DIR": str(tmp_path), "CSTI_CACHE_DIR": str(cache_dir), "CSTI_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--secrets.files", str(secrets)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def work(browser):
        page = browser.new_page()
        page.goto(f"{base}/edition")
        page.get_by_role("button", name="Se connecter").wait_for(timeout=30_000)
        assert "Grotte de Niaux" not in page.content()
        page.get_by_role("button", name="Se connecter").click()
        # Provider round trip; Streamlit's callback sets its identity cookie and sends the browser home.
        page.wait_for_url(lambda url: url.rstrip("/") in (base, f"{base}/carte") and any(
            c["name"] == "_streamlit_user" for c in page.context.cookies()), timeout=60_000)
        page.wait_for_load_state()
        page.goto(f"{base}/edition")
        if allowed:
            page.get_by_text("Modifier, déplacer, supprimer").wait_for(timeout=30_000)
            assert "alice@reseau-csti.fr" in page.content()
        else:
            page.get_by_text("pas autorisé").wait_for(timeout=30_000)
            html = page.content()
            assert all(value not in html for value in (*PRIVATE_VALUES, *STORE_ONLY))

    try:
        for _ in range(120):
            try:
                if _get(f"{base}/_stcore/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.25)
        with_chromium(work)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        provider.close()


def test_removing_an_account_ends_its_session(staff_env, monkeypatch, accounts):
    at = login(open_page("pages/edition.py"), "bob", PASSWORD)
    assert "Grotte de Niaux" in all_text(at)
    monkeypatch.setenv("CSTI_STAFF_ACCOUNTS", ";".join(a for a in accounts.split(";") if not a.startswith("bob:")))
    at.run()
    assert [t.label for t in at.text_input] == ["Identifiant", "Mot de passe"]
    assert "Grotte de Niaux" not in all_text(at)


def test_import_page_publishes_the_sample_as_one_batch_then_edition_undoes_it(staff_env):
    before = len(staff_env)
    at = login(open_page("pages/import_geocodage.py"), "alice", PASSWORD)
    next(c for c in at.checkbox if c.label.startswith("Essayer avec l'annuaire")).check()
    at.run()
    next(b for b in at.button if b.label == "Géocoder").click()
    at.run()
    assert not at.exception, at.exception
    assert "5. Enregistrer dans l'annuaire" in [s.value for s in at.subheader]
    counts = {m.label: int(m.value) for m in at.metric if m.label in {"Nouveaux", "Mis à jour", "Inchangés", "Rejetés", "Écartés (hors occitanie)"}}
    from geodata.directory import SAMPLE_FILE
    from geodata.importing import import_actors

    assert counts["Nouveaux"] > 0 and sum(counts.values()) == import_actors(SAMPLE_FILE).rows  # every row of the file in one group
    next(b for b in at.button if b.label == "Enregistrer dans l'annuaire").click()
    at.run()
    assert not at.exception, at.exception
    assert any("lot n° 1" in s.value for s in at.success)
    assert len(staff_env) == before + counts["Nouveaux"] and set(staff_env.history().dropna(subset=["batch_id"])["user"]) == {"alice"}
    assert "Rien à enregistrer" in " ".join(i.value for i in at.info)  # the same file again changes nothing
    at = login(open_page("pages/edition.py"), "bob", PASSWORD)
    assert next(s for s in at.selectbox if s.label == "Import").value == 1
    next(b for b in at.button if b.label == "Annuler cet import").click()
    at.run()
    assert not at.exception, at.exception
    assert len(staff_env) == before and staff_env.batches().iloc[0]["undone_by"] == "bob"


def test_edition_refuses_a_clashing_undo_and_shows_both_values(staff_env):
    first = staff_env.list_actors().iloc[0]
    staff_env.update(first["id"], {"nom": "Nom 2"}, expected_version=int(first["version"]), user="alice")
    staff_env.update(first["id"], {"nom": "Nom 3"}, expected_version=int(first["version"]) + 1, user="bob")
    older = int(staff_env.history(first["id"]).iloc[1]["change_id"])
    at = login(open_page("pages/edition.py"), "carol", PASSWORD)
    next(s for s in at.selectbox if s.label == "Changement").set_value(older)
    at.run()
    next(b for b in at.button if b.label == "Annuler ce changement").click()
    at.run()
    assert not at.exception, at.exception
    assert any("plus récents" in e.value for e in at.error)
    clash = next(d.value for d in at.dataframe if "valeur actuelle" in d.value.columns)
    assert list(clash.iloc[0][["valeur laissée par ce changement", "valeur actuelle"]]) == ["Nom 2", "Nom 3"]
    assert staff_env.get(first["id"])["nom"] == "Nom 3"


def test_a_reload_keeps_the_import_in_progress_as_a_draft(staff_env):
    at = login(open_page("pages/import_geocodage.py"), "alice", PASSWORD)
    next(c for c in at.checkbox if c.label.startswith("Essayer avec l'annuaire")).check()
    at.run()
    next(b for b in at.button if b.label == "Géocoder").click()
    at.run()
    assert "5. Enregistrer dans l'annuaire" in [s.value for s in at.subheader]
    # A correction (here to a commune; a tap on the map fills in the coordinates the same way), with its author.
    corrected = next(s for s in at.selectbox if s.label == "Acteur").value
    next(r for r in at.radio if r.label == "Corriger par").set_value("Choisir la commune")
    at.run()
    next(s for s in at.selectbox if s.label == "Commune").set_value("31069")
    next(b for b in at.button if b.label == "Enregistrer la correction").click()
    at.run()
    assert not at.exception, at.exception
    assert any("corrigée par alice" in s.value and "→ Blagnac (31069)" in s.value for s in at.success)
    # A reload is a new session: the login is asked again, then the draft is offered.
    at = login(open_page("pages/import_geocodage.py"), "alice", PASSWORD)
    assert any("acteurs_exemple.csv" in i.value and "gardé pour vous" in i.value for i in at.info)
    assert not any(i.value.startswith("Un import en cours") for i in login(open_page("pages/import_geocodage.py"), "bob", PASSWORD).info)  # per account
    next(b for b in at.button if b.label == "Reprendre l'import en cours").click()
    at.run()
    assert not at.exception, at.exception
    assert "5. Enregistrer dans l'annuaire" in [s.value for s in at.subheader]  # resumed where it stopped: geocoded
    assert next(m for m in at.metric if m.label == "Placés").value.startswith("124")
    assert next(s for s in at.selectbox if s.label == "Acteur").value == corrected  # the correction is still there, as saved
    assert "Position actuelle : Blagnac (31069)" in " ".join(m.value for m in at.markdown)
    assert any(b.label == "Supprimer la correction de cet acteur" for b in at.button)
    at = login(open_page("pages/import_geocodage.py"), "alice", PASSWORD)
    next(b for b in at.button if b.label == "Abandonner l'import en cours").click()
    at.run()
    assert not any(i.value.startswith("Un import en cours") for i in at.info)

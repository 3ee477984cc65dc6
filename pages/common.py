"""Helpers shared by the pages: cached loaders (thin wrappers over geodata) and error display."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit import runtime
from streamlit.errors import StreamlitSecretNotFoundError
from streamlit.runtime.scriptrunner import get_script_run_ctx

from geodata import auth
from geodata.errors import GeodataError
from geodata.territory import Territory, load_territory


@st.cache_resource(show_spinner="Chargement de la géographie de référence…")
def territory() -> Territory:
    """Reference geography and optional layers, loaded once per server process (read-only)."""
    return load_territory()


@st.cache_resource
def _territory_generation() -> list[int]:
    return [0]


def territory_version() -> int:
    """A number that changes when staff replace a layer of the territory (see :func:`reload_territory`): caches built
    on the territory take it as a key."""
    return _territory_generation()[0]


def reload_territory() -> None:
    """After staff loaded a layer (the QPV file): every session reads the territory again at its next run."""
    territory.clear()
    _public_directory.clear()
    _coverage_directory.clear()
    _territory_generation()[0] += 1


def directory_token() -> str:
    """The version of the directory as the pages show it: its source's token and the territory's version."""
    from geodata.directory import directory_source

    return f"{directory_source()[1]}|territoire-{territory_version()}"


#: The script that puts Streamlit's own English words (file uploader, inputs, sidebar, tables' toolbar) in French.
FRENCH_UI = Path(__file__).with_name("french_ui.js")


@functools.cache
def _french_ui_script() -> str:
    """:data:`FRENCH_UI`, read once per process (the router calls :func:`french_interface` at every run of every page)."""
    return FRENCH_UI.read_text(encoding="utf-8")


def french_interface() -> None:
    """Streamlit's own words in French on every page (called once per run by the router, app.py).

    Streamlit has no locale setting: :data:`FRENCH_UI` translates, in the browser, the texts and accessible names
    its widgets build in English, and marks the page as French (``lang="fr"``). Static script, no data in it; its
    element is hidden (it takes no room on the page).
    """
    with st.container(key="interface-francaise"):
        # The uploader's French instructions wrap on a phone instead of ending in an ellipsis.
        # On a phone, the page starts under Streamlit's header, not 6 rem further down (a seventh of the first screen was blank).
        style = (".st-key-interface-francaise { display: none; } [data-testid='stFileUploaderDropzoneInstructions'] span { white-space: normal; }"
                 " @media (max-width: 640px) { [data-testid='stMainBlockContainer'] { padding-top: 3.5rem; } }")
        st.html(f"<style>{style}</style><script>{_french_ui_script()}</script>", unsafe_allow_javascript=True)


@contextlib.contextmanager
def user_errors():
    """Show domain errors as a French message instead of a stack trace."""
    try:
        yield
    except GeodataError as exc:
        st.error(str(exc))
        st.stop()


def not_ready(issue: int, what: str) -> None:
    st.info(f"Cette page n'est pas encore prête : {what} (ticket n° {issue}).")


@st.cache_resource
def _login_throttle() -> auth.LoginThrottle:
    """Failed-login counters shared by every session of this server process."""
    return auth.LoginThrottle()


def _client_address() -> str | None:
    """The address of the browser, as the server sees it (None on loopback).

    Behind a reverse proxy on the same machine, Streamlit's server (uvicorn) takes it from
    ``X-Forwarded-For``, which it trusts only from 127.0.0.1 and ::1 (``FORWARDED_ALLOW_IPS``).
    """
    return st.context.ip_address


#: A file handed out for download can be fetched for this long after the click that built it (seconds).
DOWNLOAD_LIFETIME = 60.0


def collect_downloads() -> None:
    """Delete now every download file that no session shows any more.

    Streamlit marks an unreferenced download on one sweep and deletes it on the next one, at the end
    of some later script run of any session: a private file would stay fetchable, without any
    cookie, until then. Two sweeps delete it at once.
    """
    if runtime.exists():
        files = runtime.get_instance().media_file_mgr
        files.remove_orphaned_files()
        files.remove_orphaned_files()


def download_on_click(label: str, data: Callable[[], bytes], *, file_name: str, mime: str, key: str | None = None) -> None:
    """A download button whose file is built only when clicked and dies :data:`DOWNLOAD_LIFETIME` s later.

    The file is never referenced by the session (Streamlit serves a clicked-for file once built), so a
    timer's sweep deletes it whether or not the session still runs: a private download cannot outlive
    the click by more than a minute, the logout (:func:`end_staff_session`) or the session's end.
    """

    def build() -> bytes:
        timer = threading.Timer(DOWNLOAD_LIFETIME, collect_downloads)
        timer.daemon = True
        timer.start()
        return data()

    st.download_button(label, build, file_name=file_name, mime=mime, on_click="ignore", key=key)


def end_staff_session() -> None:
    """Log out: forget everything this session held and delete the files it was handed (callback of « Se déconnecter »)."""
    ctx = get_script_run_ctx()
    if ctx is not None and runtime.exists():
        runtime.get_instance().media_file_mgr.clear_session_refs(ctx.session_id)
    collect_downloads()
    st.session_state.clear()  # the signed-in user, prepared exports, forms holding private fields


def _end_oidc_session() -> None:
    end_staff_session()
    st.logout()


def _secrets() -> dict:
    try:
        return st.secrets.to_dict()
    except StreamlitSecretNotFoundError:
        return {}


def _logout_button(who: str, on_click) -> None:
    st.sidebar.caption(f"Connecté·e : {who}")
    st.sidebar.button("Se déconnecter", key="staff_logout", on_click=on_click)


def _accounts_or_none(secrets: dict) -> dict:
    try:
        return auth.load_accounts(secrets=secrets)
    except auth.AuthenticationError:
        return {}


def _require_oidc(secrets: dict) -> str:
    if not st.user.is_logged_in:
        st.info("Espace réservé à l'équipe du réseau : connectez-vous pour continuer.")
        providers = [k for k, v in secrets["auth"].items() if isinstance(v, dict)]
        if "client_id" in secrets["auth"] or not providers:
            st.button("Se connecter", on_click=st.login)
        for provider in providers:
            st.button(f"Se connecter ({provider})", on_click=st.login, args=(provider,), key=f"login_{provider}")
        st.stop()
    email = str(st.user.get("email") or "").strip().lower()
    if email not in auth.allowed_emails(secrets=secrets):
        st.error(f"Le compte {email or 'sans courriel'!r} n'est pas autorisé dans l'espace équipe : demandez à l'ajouter à « staff_emails ».")
        st.button("Se déconnecter", on_click=_end_oidc_session)
        st.stop()
    _logout_button(email, _end_oidc_session)
    return email


def require_staff() -> str:
    """Return the logged-in staff member; otherwise show only a login form and stop the page.

    With an ``[auth]`` section in secrets, Streamlit's OpenID Connect login is used and the
    e-mail must be listed in ``staff_emails`` (or ``CSTI_STAFF_EMAILS``). Otherwise local
    accounts (bcrypt hashes from ``[staff_accounts]`` or ``CSTI_STAFF_ACCOUNTS``) are checked,
    with a growing lockout of the pair (user, client address) after failed attempts (see
    :class:`geodata.auth.LoginThrottle`). A local login lasts as long as the browser session.
    """
    secrets = _secrets()
    if secrets.get("auth"):
        return _require_oidc(secrets)
    user = st.session_state.get("staff_user")
    if user and user not in _accounts_or_none(secrets):  # account removed since: access ends at once
        end_staff_session()
        user = None
    if user:
        _logout_button(user, end_staff_session)
        return user
    st.info("Espace réservé à l'équipe du réseau : connectez-vous pour continuer.")
    with st.form("staff_login"):
        name = st.text_input("Identifiant")
        password = st.text_input("Mot de passe", type="password")
        submitted = st.form_submit_button("Se connecter")
    if submitted:
        try:
            user = auth.authenticate(name, password, accounts=auth.load_accounts(secrets=secrets), throttle=_login_throttle(), client=_client_address())
        except auth.AuthenticationError as exc:
            st.error(str(exc))
        else:
            st.session_state["staff_user"] = user
            st.rerun()
    st.stop()


@st.cache_resource(show_spinner="Chargement de l'annuaire…", max_entries=2)
def _public_directory(token: str):
    from geodata.actors import public_columns
    from geodata.directory import load_directory

    actors = load_directory(territory=territory())
    # Public pages never hold private fields (contact persons, e-mails, phones).
    return actors[public_columns(actors.columns)]


def directory():
    """The public actor directory (no private field), reloaded when the staff store or the file changes.

    Read-only: filter into new frames, never mutate.
    """
    return _public_directory(directory_token())


@st.cache_resource(show_spinner="Chargement de l'annuaire…", max_entries=2)
def _coverage_directory(token: str):
    from geodata.actors import public_columns
    from geodata.coverage import ANALYSIS_COLUMNS
    from geodata.directory import load_directory

    actors = load_directory(territory=territory())
    return actors[public_columns(actors.columns) + [c for c in ANALYSIS_COLUMNS if c in actors.columns]]


def coverage_directory():
    """The public directory plus the placement precision the coverage analysis turns into ranges (aggregate figures only).

    Read-only, like :func:`directory`; nothing of it is shown or exported per actor.
    """
    return _coverage_directory(directory_token())


@st.cache_resource(show_spinner=False)
def map_assets() -> str:
    """Install Leaflet assets and the commune outlines under ``static/`` once; returns the outlines' URL."""
    from cartography.assets import STATIC_DIR, STREAMLIT_PREFIX, install_assets
    from cartography.base import communes_outlines_geojson

    install_assets()
    target = STATIC_DIR / "geo" / "communes.geojson"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(communes_outlines_geojson(territory().communes), encoding="utf-8")
    return f"{STREAMLIT_PREFIX}/geo/communes.geojson"


def point_picker(key: str, *, name: str, point: tuple[float, float] | None, code_insee: str | None) -> dict | None:
    """A small map of an actor's place (its point, its commune's outline); a click or a tap on it sets a new point.

    Returns the point picked, ``{"longitude", "latitude", "code_insee", "nom"}`` with the commune
    recomputed from the point (``code_insee`` None outside Occitanie), or None before any click.
    The pick is kept in the session under ``key`` (one per actor) until :func:`forget_pick`.
    """
    from streamlit_folium import st_folium

    from cartography.correction_map import correction_map, proposed_layer
    from geodata.corrections import commune_of_point, place_text

    terr = territory()
    map_assets()  # Leaflet under static/ (no CDN)
    current = terr.communes.loc[terr.communes["code_insee"] == (code_insee or "")]
    outline, commune = (current.geometry.iloc[0], str(current["nom"].iloc[0])) if len(current) else (None, "")
    map_key, pick_key = f"{key}-carte", f"{key}-point"
    # The click of the previous run is in the component's state: read it before drawing, so the new point shows at once.
    clicked = (st.session_state.get(map_key) or {}).get("last_clicked")
    picked = st.session_state.get(pick_key)
    if clicked and (picked is None or (picked["longitude"], picked["latitude"]) != (round(clicked["lng"], 6), round(clicked["lat"], 6))):
        lon, lat = round(float(clicked["lng"]), 6), round(float(clicked["lat"]), 6)
        place = commune_of_point(terr.reference, lon, lat)
        picked = {"longitude": lon, "latitude": lat, "code_insee": place and place["code_insee"], "nom": place["nom"] if place else "",
                  "geometry": place and place["geometry"]}
        st.session_state[pick_key] = picked
    layer = proposed_layer((picked["longitude"], picked["latitude"]), picked["geometry"], commune=picked["nom"]) if picked else None
    st.caption("Touchez ou cliquez la carte à l'endroit exact de l'acteur : la commune est recalculée d'après le point. "
               + ("Point bleu : position actuelle." if point is not None else "L'acteur n'est pas encore placé."))
    with st.container(key="carte-correction"):  # one per page; browser tests find the map by it
        st_folium(correction_map(point, outline, name=name, commune=commune), key=map_key, height=380, use_container_width=True,
                  returned_objects=["last_clicked"], feature_group_to_add=layer)
    if picked is None:
        return None
    if picked["code_insee"] is None:
        st.warning("Le point touché est hors d'Occitanie : touchez la carte dans la région.")
    else:
        st.info(f"Nouveau point (rouge) : {place_text(terr.reference, picked['longitude'], picked['latitude'], picked['code_insee'])}.")
    return {k: v for k, v in picked.items() if k != "geometry"}


def forget_pick(key: str) -> None:
    """Forget the point picked on the map ``key`` (after it was saved)."""
    st.session_state.pop(f"{key}-point", None)
    st.session_state.pop(f"{key}-carte", None)

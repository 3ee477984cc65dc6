"""Helpers shared by the pages: cached loaders (thin wrappers over geodata) and error display."""

from __future__ import annotations

import contextlib
import uuid

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from geodata import auth
from geodata.errors import GeodataError
from geodata.layers import Territory, load_territory


@st.cache_resource(show_spinner="Chargement de la géographie de référence…")
def territory() -> Territory:
    """Reference geography and optional layers, loaded once per server process (read-only)."""
    return load_territory()


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


def _secrets() -> dict:
    try:
        return st.secrets.to_dict()
    except StreamlitSecretNotFoundError:
        return {}


def _logout_button(who: str, on_click) -> None:
    st.sidebar.caption(f"Connecté·e : {who}")
    st.sidebar.button("Se déconnecter", key="staff_logout", on_click=on_click)


def _forget_local_login() -> None:
    st.session_state.pop("staff_user", None)


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
        st.button("Se déconnecter", on_click=st.logout)
        st.stop()
    _logout_button(email, st.logout)
    return email


def require_staff() -> str:
    """Return the logged-in staff member; otherwise show only a login form and stop the page.

    With an ``[auth]`` section in secrets, Streamlit's OpenID Connect login is used and the
    e-mail must be listed in ``staff_emails`` (or ``CSTI_STAFF_EMAILS``). Otherwise local
    accounts (bcrypt hashes from ``[staff_accounts]`` or ``CSTI_STAFF_ACCOUNTS``) are checked,
    with a growing lockout after failed attempts.
    """
    secrets = _secrets()
    if secrets.get("auth"):
        return _require_oidc(secrets)
    user = st.session_state.get("staff_user")
    if user and user not in _accounts_or_none(secrets):  # account removed since: access ends at once
        _forget_local_login()
        user = None
    if user:
        _logout_button(user, _forget_local_login)
        return user
    st.info("Espace réservé à l'équipe du réseau : connectez-vous pour continuer.")
    with st.form("staff_login"):
        name = st.text_input("Identifiant")
        password = st.text_input("Mot de passe", type="password")
        submitted = st.form_submit_button("Se connecter")
    if submitted:
        session = st.session_state.setdefault("staff_session", uuid.uuid4().hex)
        try:
            user = auth.authenticate(name, password, accounts=auth.load_accounts(secrets=secrets), throttle=_login_throttle(), session=session)
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
    from geodata.directory import directory_source

    return _public_directory(directory_source()[1])


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

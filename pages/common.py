"""Helpers shared by the pages: cached loaders (thin wrappers over geodata) and error display."""

from __future__ import annotations

import contextlib

import streamlit as st

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


def require_staff() -> None:
    """Stop the page unless a staff member is logged in (interim: staff pages are closed)."""
    st.warning("Espace réservé à l'équipe : la connexion arrive avec le ticket n° 6.")
    st.stop()


@st.cache_resource(show_spinner="Chargement de l'annuaire des acteurs…")
def directory():
    """The actor directory, loaded once per server process (read-only: filter into new frames, never mutate)."""
    from geodata.directory import load_directory

    return load_directory(reference=territory().reference)


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

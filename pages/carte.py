"""Page « Carte » : la carte publique des acteurs ; recherche, filtres, liste et fiches tournent dans le navigateur.

The map is the same client as the static site, written once per directory version under ``static/``
and shown in an iframe: a visit sends a few kilobytes over the websocket, and a filter, a search
or a page of the list never reruns this script.
"""

import streamlit as st

from cartography.escape import escape_text
from geodata.settings import get_settings
from pages.common import directory, directory_token, map_assets, territory, user_errors

TITLE = "Carte interactive des acteurs de la culture scientifique en Occitanie"

# This page only: the map fills the window under Streamlit's header (the client carries its own title and filters).
st.html("""<style>
[data-testid="stMainBlockContainer"] { padding: 3.75rem 0.5rem 0 0.5rem !important; max-width: none !important; }
[data-testid="stMain"] iframe[title^="Carte interactive"] { display: block; height: calc(100dvh - 3.75rem) !important; }
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] { gap: 0 !important; }
</style>""")


@st.cache_resource(show_spinner="Préparation de la carte…", max_entries=2)
def _map_url(token: str) -> str:
    from cartography.assets import STATIC_DIR, STREAMLIT_PREFIX
    from cartography.publish import write_map_page

    terr = territory()
    name = write_map_page(STATIC_DIR / "carte", directory(), terr.reference, token=token, settings=get_settings())
    return f"{STREAMLIT_PREFIX}/carte/{name}"


with user_errors():
    map_assets()  # Leaflet, supercluster, the client and the commune outlines under static/
    url = _map_url(directory_token())  # the actors' QPV change when staff load a QPV file

st.iframe(url, height=700, alt=TITLE)

with st.sidebar.expander("Intégrer la carte à un site"):
    site = get_settings().public_url or "https://exemple.org/carte-csti/index.html"
    st.markdown(
        "La carte publiée en site statique (`python -m geodata publish -o DOSSIER`, à déposer sur n'importe quel serveur web) "
        "s'intègre dans une page du site du réseau avec ce code :"
    )
    # On request only: st.code brings a 1.5 MB syntax highlighter that every visitor would download and parse before the map.
    if st.toggle("Afficher le code d'intégration", key="carte_integration"):
        st.code(
            f'<iframe src="{escape_text(site)}" title="Carte de la culture scientifique en Occitanie" '
            'width="100%" height="600" style="border:0" loading="lazy"></iframe>',
            language="html",
        )
    if not get_settings().public_url:
        st.caption("Remplacez l'adresse d'exemple par celle du site publié (réglage CSTI_PUBLIC_URL).")

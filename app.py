"""Router of the Streamlit app: one page per job, public pages first, staff pages behind a login."""

import streamlit as st

st.set_page_config(page_title="Carte de la culture scientifique en Occitanie", page_icon="🔭", layout="wide")

PUBLIC = [
    st.Page("pages/carte.py", title="Carte", icon="🗺️", default=True, url_path="carte"),
    st.Page("pages/statistiques.py", title="Statistiques", icon="📊", url_path="statistiques"),
    st.Page("pages/couverture.py", title="Couverture territoriale", icon="🎯", url_path="couverture"),
]
STAFF = [
    st.Page("pages/import_geocodage.py", title="Import & géocodage", icon="📥", url_path="import"),
    st.Page("pages/edition.py", title="Édition", icon="✏️", url_path="edition"),
    st.Page("pages/exports.py", title="Exports", icon="📤", url_path="exports"),
]

st.navigation({"Public": PUBLIC, "Espace équipe": STAFF}).run()

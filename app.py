"""Router of the Streamlit app: one page per job, public pages first, staff pages behind a login."""

import streamlit as st

from geodata.settings import get_settings
from pages.common import french_interface, user_errors

st.set_page_config(page_title="Carte de la culture scientifique en Occitanie", page_icon="🧭", layout="wide")

PUBLIC = [
    st.Page("pages/carte.py", title="Carte", icon=":material/map:", default=True, url_path="carte"),
    st.Page("pages/statistiques.py", title="Statistiques", icon=":material/bar_chart:", url_path="statistiques"),
    st.Page("pages/couverture.py", title="Couverture territoriale", icon=":material/my_location:", url_path="couverture"),
]
STAFF = [
    st.Page("pages/import_geocodage.py", title="Import & géocodage", icon=":material/upload_file:", url_path="import"),
    st.Page("pages/edition.py", title="Édition", icon=":material/edit:", url_path="edition"),
    st.Page("pages/exports.py", title="Exports", icon=":material/download:", url_path="exports"),
    st.Page("pages/geographie.py", title="Géographie de référence", icon=":material/layers:", url_path="geographie"),
]

french_interface()  # Streamlit's own English words (uploader, inputs, menus) in French, on every page
page = st.navigation({"Public": PUBLIC, "Espace équipe": STAFF})
with user_errors():  # a bad CSTI_* value: a French message naming the variable, not a stack trace
    get_settings()
page.run()

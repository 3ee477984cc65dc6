"""Page « Carte des acteurs »."""

import streamlit as st

from pages.common import not_ready

st.title("Carte des acteurs")
not_ready(4, "la carte publique des acteurs")

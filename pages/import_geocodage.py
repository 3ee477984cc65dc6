"""Page « Import & géocodage »."""

import streamlit as st

from pages.common import not_ready

st.title("Import & géocodage")
not_ready(3, "l'import de l'enquête et le géocodage")

"""Page « Import & géocodage »."""

import streamlit as st

from pages.common import not_ready, require_staff

st.title("Import & géocodage")
require_staff()
not_ready(3, "l'import de l'enquête et le géocodage")

"""Page « Édition de l'annuaire »."""

import streamlit as st

from pages.common import not_ready, require_staff

st.title("Édition de l'annuaire")
require_staff()
not_ready(6, "l'édition de l'annuaire avec historique")

"""Page « Statistiques »."""

import streamlit as st

from pages.common import not_ready

st.title("Statistiques")
not_ready(4, "les cartes et tableaux par département et par commune")

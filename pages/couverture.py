"""Page « Couverture territoriale »."""

import streamlit as st

from pages.common import not_ready

st.title("Couverture territoriale")
not_ready(5, "l'analyse des zones non couvertes (groupe G5)")

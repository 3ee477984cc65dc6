"""Page « Exports »."""

import streamlit as st

from pages.common import not_ready

st.title("Exports")
not_ready(6, "les exports GeoJSON, GeoPackage et CSV")

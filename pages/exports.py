"""Page « Exports »."""

import streamlit as st

from pages.common import not_ready, require_staff

st.title("Exports")
require_staff()
not_ready(6, "les exports GeoJSON, GeoPackage et CSV")

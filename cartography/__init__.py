"""Folium maps of the Occitanie CSTI directory: pure functions returning ``folium.Map`` objects."""

from cartography import verbatim

# Before any map is built: data in a map must never become Jinja template source (see cartography.verbatim).
verbatim.install()

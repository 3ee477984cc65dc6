"""Folium maps of the Occitanie CSTI directory: pure functions returning ``folium.Map`` objects."""

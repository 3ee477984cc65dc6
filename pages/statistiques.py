"""Page « Statistiques » : acteurs par département, intercommunalité (EPCI) et commune, en nombre et pour 10 000 habitants."""

import streamlit as st

from cartography.actors_map import map_html
from cartography.base import simplified
from cartography.choropleth import choropleth_map
from geodata.actors import placed_mask
from geodata.indicators import actors_by_commune, actors_by_departement, actors_by_epci
from pages.common import directory, map_assets, territory, user_errors

INDICATORS = {"acteurs": "Nombre d'acteurs", "acteurs_10000_hab": "Acteurs pour 10 000 habitants"}


@st.cache_resource(show_spinner=False)
def _light_communes():
    """Commune polygons simplified for a choropleth of the whole region (~200 m)."""
    return simplified(territory().communes, tolerance=0.002, grid=0.0001)


@st.cache_resource(show_spinner=False)
def _light_epci():
    """Intercommunality outlines (dissolved communes, cached with the reference) simplified like the communes."""
    return simplified(territory().reference.epci, tolerance=0.002, grid=0.0001)


st.title("Statistiques")

with user_errors():
    terr = territory()
    actors = directory()
    map_assets()

c1, c2 = st.columns(2)
scale = c1.radio("Échelle", ["Départements", "Intercommunalités", "Communes"], horizontal=True)
indicator = c2.radio("Indicateur", list(INDICATORS), format_func=INDICATORS.get, horizontal=True)

if scale == "Départements":
    areas = actors_by_departement(actors, terr.departements)
    columns = {"code_departement": "Code", "nom": "Département", "population": "Population", "acteurs": "Acteurs",
               "acteurs_10000_hab": "Pour 10 000 hab."}
elif scale == "Intercommunalités":
    areas = actors_by_epci(actors, _light_epci())
    columns = {"code_epci": "SIREN", "nom": "Intercommunalité (EPCI)", "type_epci": "Type", "departements": "Dép.",
               "population": "Population en Occitanie", "hors_region": "Déborde de la région", "acteurs": "Acteurs",
               "acteurs_10000_hab": "Pour 10 000 hab."}
else:
    areas = actors_by_commune(actors, _light_communes())
    columns = {"code_insee": "Code INSEE", "nom": "Commune", "code_departement": "Dép.", "population": "Population",
               "acteurs": "Acteurs", "acteurs_10000_hab": "Pour 10 000 hab."}

unplaced = int((~placed_mask(actors)).sum())
st.caption(f"{int(areas['acteurs'].sum())} acteurs localisés comptés ; {terr.reference.population_label}."
           + (f" {unplaced} acteurs sans localisation ne sont pas comptés." if unplaced else ""))
if scale == "Intercommunalités" and areas["hors_region"].any():
    st.caption(f"{int(areas['hors_region'].sum())} intercommunalités débordent de la région : leurs chiffres et leur contour sont ceux "
               "de leur partie en Occitanie.")

left, right = st.columns([3, 2])
with left:
    m = choropleth_map(areas, indicator, title=INDICATORS[indicator], departements=terr.departements)
    st.iframe(map_html(m), height=560, alt=f"Carte choroplèthe : {INDICATORS[indicator]} par {scale.lower()[:-1]}")
with right:
    table = areas[list(columns)].sort_values(indicator, ascending=False)
    st.dataframe(table.rename(columns=columns), hide_index=True, width="stretch", height=560)

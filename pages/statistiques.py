"""Page « Statistiques » : acteurs par département, intercommunalité (EPCI) et commune, en nombre et pour 10 000 habitants."""

import streamlit as st

from cartography.actors_map import map_html
from cartography.base import simplified
from cartography.choropleth import choropleth_map
from geodata import number_format as nf
from geodata.actors import placed_mask
from geodata.indicators import RATE_MIN_POPULATION, actors_by_commune, actors_by_departement, actors_by_epci
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
    columns = {"code_insee": "Code INSEE", "nom": "Commune", "code_departement": "Dép.", "nom_epci": "Intercommunalité (EPCI)",
               "population": "Population", "acteurs": "Acteurs", "acteurs_10000_hab": "Pour 10 000 hab."}
    columns = {k: v for k, v in columns.items() if k in areas.columns}

unplaced = int((~placed_mask(actors)).sum())
year = terr.reference.population_year
columns = {k: (f"{v} {year}" if k == "population" and year else v) for k, v in columns.items()}
columns["taux_comparable"] = "Taux comparable"
st.caption(f"{nf.integer(areas['acteurs'].sum())} acteurs localisés comptés ; population municipale : {terr.reference.population_label}."
           + (f" {nf.integer(unplaced)} acteurs sans localisation ne sont pas comptés." if unplaced else ""))
rate_note = ""
if indicator == "acteurs_10000_hab":
    small = int((~areas["taux_comparable"]).sum())
    rate_note = f"moins de {nf.integer(RATE_MIN_POPULATION)} habitants : non comparé"
    if small:
        st.caption(f"Pour 10 000 habitants : {nf.integer(small)} territoires de moins de {nf.integer(RATE_MIN_POPULATION)} habitants ne sont "
                   "pas colorés et viennent en fin de tableau (« Taux comparable » : non), car un seul acteur y donnerait un taux "
                   "sans commune mesure avec celui d'une ville.")
if scale == "Intercommunalités" and areas["hors_region"].any():
    st.caption(f"{int(areas['hors_region'].sum())} intercommunalités débordent de la région : leurs chiffres et leur contour sont ceux "
               "de leur partie en Occitanie.")

left, right = st.columns([3, 2])
with left:
    mapped = areas.assign(acteurs_10000_hab=areas["acteurs_10000_hab"].where(areas["taux_comparable"]))
    m = choropleth_map(mapped, indicator, title=INDICATORS[indicator], departements=terr.departements, missing_note=rate_note)
    st.iframe(map_html(m), height=560, alt=f"Carte choroplèthe : {INDICATORS[indicator]} par {scale.lower()[:-1]}")
with right:
    keys = ["taux_comparable", indicator] if indicator == "acteurs_10000_hab" else [indicator]
    table = areas[list(columns)].sort_values(keys, ascending=False, kind="stable")
    formats = {"population": nf.integer, "acteurs": nf.integer, "acteurs_10000_hab": lambda v: nf.decimal(v, 2),
               "taux_comparable": lambda v: "oui" if v else "non", "hors_region": lambda v: "oui" if v else "non"}
    styled = table.rename(columns=columns).style.format({columns[k]: f for k, f in formats.items() if k in table.columns})
    st.dataframe(styled, hide_index=True, width="stretch", height=560)

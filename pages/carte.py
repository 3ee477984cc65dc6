"""Page « Carte » : la carte publique des acteurs, ses filtres, son tableau accessible et son code d'intégration."""

import streamlit as st

from cartography.actors_map import actors_map, map_html
from cartography.escape import escape_text, safe_url
from cartography.publish import csv_bytes, public_table
from geodata.actors import TYPES, placed_mask
from geodata.selection import CIRCLE_LABELS, CIRCLE_OPTIONS, QUERY_KEYS, Selection, parse_view, select_actors, theme_options
from geodata.settings import get_settings
from pages.common import directory, map_assets, territory, user_errors

st.title("Carte de la culture scientifique en Occitanie")

with user_errors():
    terr = territory()
    actors = directory()
    communes_url = map_assets()

params = {key: st.query_params.get_all(key) for key in (*QUERY_KEYS, "lat", "lon", "z", "fond")}
asked = Selection.from_query(params)
dep_names = dict(zip(terr.departements["code_departement"], terr.departements["nom"]))
themes = theme_options(actors)


def _valid(values, options):
    return [v for v in values if v in options]


cols = st.columns([3, 2, 3, 3, 3])
query = cols[0].text_input("Rechercher un nom ou une commune", value=asked.query, key="q")
circles = cols[1].multiselect("Cercle", CIRCLE_OPTIONS, default=_valid(asked.circles, CIRCLE_OPTIONS), format_func=CIRCLE_LABELS.get, key="cercle", placeholder="Tous")
types = cols[2].multiselect("Type de structure", TYPES, default=_valid(asked.types, TYPES), key="type", placeholder="Tous")
deps = cols[3].multiselect("Département", list(dep_names), default=_valid(asked.departements, dep_names),
                           format_func=lambda c: f"{c} – {dep_names[c]}", key="dep", placeholder="Tous")
chosen_themes = cols[4].multiselect("Thématique", themes, default=_valid(asked.themes, themes), key="theme", placeholder="Toutes")
selection = Selection(query.strip(), tuple(circles), tuple(types), tuple(deps), tuple(chosen_themes))

# Permalink: the filters live in the query string (the map itself writes lat, lon, z and fond).
for key, values in selection.to_query().items():
    if st.query_params.get_all(key) != values:
        if values:
            st.query_params[key] = values
        elif key in st.query_params:
            del st.query_params[key]

shown = select_actors(actors, selection)
placed = placed_mask(shown)
center, zoom = parse_view(params)
with user_errors():
    m = actors_map(shown, terr.departements, base=(params["fond"] or ["plan_ign"])[0], location=center, zoom=zoom,
                   communes_url=communes_url, permalink="parent")

total = len(actors)
st.markdown(f"**{int(placed.sum())} acteurs affichés** sur {total} dans l'annuaire.")
if (~placed).any():
    st.caption(f"{int((~placed).sum())} acteurs retenus n'ont pas de localisation : ils figurent dans le tableau mais pas sur la carte.")
st.iframe(map_html(m), height=640, alt="Carte interactive des acteurs de la culture scientifique en Occitanie")

st.subheader("Liste des acteurs affichés")
st.caption("Alternative accessible à la carte : les mêmes acteurs, triables par colonne.")
table = public_table(shown)
view = table[["nom", "type_structure", "cercle", "thematiques", "commune_lieu", "code_departement", "site_web", "presentation_resume"]].copy()
view["site_web"] = view["site_web"].map(lambda u: safe_url(u) or "")
st.dataframe(
    view,
    hide_index=True,
    width="stretch",
    column_config={
        "nom": "Nom", "type_structure": "Type", "cercle": "Cercle", "thematiques": "Thématiques", "commune_lieu": "Commune",
        "code_departement": "Dép.", "site_web": st.column_config.LinkColumn("Site web"), "presentation_resume": "Présentation",
    },
)
st.download_button("Télécharger ces acteurs (CSV)", csv_bytes(table), file_name="acteurs_csti_occitanie.csv", mime="text/csv")

with st.expander("Intégrer la carte à un site"):
    url = get_settings().public_url or "https://exemple.org/carte-csti/index.html"
    st.markdown(
        "La carte publiée en site statique (`python -m geodata publish -o DOSSIER`, à déposer sur n'importe quel serveur web) "
        "s'intègre dans une page du site du réseau avec ce code :"
    )
    st.code(
        f'<iframe src="{escape_text(url)}" title="Carte de la culture scientifique en Occitanie" '
        'width="100%" height="600" style="border:0" loading="lazy"></iframe>',
        language="html",
    )
    if not get_settings().public_url:
        st.caption("Remplacez l'adresse d'exemple par celle du site publié (réglage CSTI_PUBLIC_URL).")

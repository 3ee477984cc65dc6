"""Page « Exports » : couches en GeoJSON, GeoPackage ou CSV, publiques par défaut, privées sur demande explicite."""

import streamlit as st

from geodata.actors import FAMILIES, TYPES
from geodata.coverage import GAP_LAYER_TITLES, gap_layers
from geodata.directory import load_directory
from geodata.export import CRS_METRIC, CRS_STORAGE, LAYERS, PRIVATE_WARNING, build_layers, export_layers
from geodata.reference import DEPARTMENTS
from geodata.selection import Selection, select_actors
from pages.common import download_on_click, require_staff, territory, user_errors

FORMATS = {"GeoJSON (une couche, WGS 84)": "geojson", "GeoPackage (plusieurs couches, QGIS)": "gpkg", "CSV pour tableur (archive ZIP)": "csv"}

st.title("Exports")
user = require_staff()
terr = territory()
with user_errors():
    directory = load_directory(territory=terr)

st.subheader("Acteurs à exporter")
c1, c2, c3, c4 = st.columns(4)
deps = c1.multiselect("Départements", DEPARTMENTS, placeholder="Tous")
epci_names = dict(zip(terr.reference.epci["code_epci"], terr.reference.epci["nom"])) if terr.reference.epci is not None else {}
epci = c2.multiselect("Intercommunalités (EPCI)", sorted(epci_names, key=epci_names.get), format_func=epci_names.get, placeholder="Toutes")
fams = c3.multiselect("Familles", list(FAMILIES), format_func=FAMILIES.get, placeholder="Toutes")
types = c4.multiselect("Types de structure", TYPES, placeholder="Tous")
text = st.text_input("Nom ou commune contient")
actors = select_actors(directory, Selection(query=text.strip(), types=tuple(types), departements=tuple(deps), epci=tuple(epci),
                                            families=tuple(fams)))
st.caption(f"{len(actors)} acteurs sur {len(directory)} retenus (couches acteurs, Fab Labs, tourisme et indicateurs).")

st.subheader("Couches et format")
available = [n for n in LAYERS if n != "qpv" or terr.qpv is not None]
gaps = [n for n in GAP_LAYER_TITLES if "qpv" not in n or terr.qpv is not None]
titles = {**{n: LAYERS[n].title for n in available}, **GAP_LAYER_TITLES}
names = st.multiselect("Couches", available + gaps, default=["acteurs"], format_func=titles.get, placeholder="Choisir des couches")
if any(n in GAP_LAYER_TITLES for n in names):
    st.caption("Couches de couverture calculées avec les réglages par défaut de la page Couverture territoriale "
               "(portées 15 km rural / 1 km QPV, distance à vol d'oiseau) sur les acteurs retenus ci-dessus.")
fmt = FORMATS[st.radio("Format", list(FORMATS), horizontal=True)]
crs, sep = CRS_STORAGE, ";"
if fmt == "gpkg":
    crs = st.radio("Système de coordonnées", [CRS_STORAGE, CRS_METRIC], horizontal=True,
                   format_func={CRS_STORAGE: "WGS 84 (EPSG:4326)", CRS_METRIC: "Lambert-93 (EPSG:2154)"}.get)
elif fmt == "csv":
    sep = st.radio("Séparateur", [";", ","], horizontal=True, format_func={";": "point-virgule (tableur français)", ",": "virgule"}.get)

private = st.toggle("Export PRIVÉ : inclure les données personnelles (personne contact, courriel, téléphone)")
if private:
    st.warning(f"{PRIVATE_WARNING} Demandé par {user}.")

# A prepared file is offered only while the choices that made it are unchanged.
choices = (tuple(deps), tuple(epci), tuple(fams), tuple(types), text, tuple(names), fmt, crs, sep, private, user)
if st.button("Préparer le fichier", type="primary"):
    with user_errors():
        extra = gap_layers(terr, actors) if any(n in GAP_LAYER_TITLES for n in names) else None
        layers = build_layers(names, actors=actors, reference=terr.reference, qpv=terr.qpv, private=private, extra=extra)
        st.session_state["export_file"] = (choices, export_layers(layers, fmt, private=private, crs=crs, sep=sep, requested_by=user,
                                                                    population=terr.reference.population_label))
made_for, ready = st.session_state.get("export_file", (None, None))
if ready is not None and made_for == choices:
    label = f"{'🔒 Télécharger l’export PRIVÉ' if '-PRIVE' in ready.file_name else 'Télécharger'} {ready.file_name}"
    # The file reaches the server's downloads only on this click, and leaves them a minute later or at logout.
    download_on_click(label, lambda: ready.data, file_name=ready.file_name, mime=ready.mime)

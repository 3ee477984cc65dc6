"""Page « Géographie de référence » (équipe) : ce que l'analyse utilise, et le fichier officiel des QPV à déposer."""

import streamlit as st

from geodata import qpv
from geodata.errors import DataFileError
from geodata.number_format import integer
from pages.common import reload_territory, require_staff, territory, user_errors

st.title("Géographie de référence")
user = require_staff()
if flash := st.session_state.pop("geographie_flash", None):
    st.success(flash)

with user_errors():
    terr = territory()
    st.markdown(f"**Communes et population** : {terr.reference.population_label}.")
    if terr.qpv is not None:
        known = int(terr.qpv["population"].notna().sum())
        generations = ", ".join(sorted(terr.qpv["generation"].astype(str).unique()))
        st.markdown(
            f"**Quartiers prioritaires (QPV)** : {integer(len(terr.qpv))} quartiers d'Occitanie, génération {generations}, "
            f"population INSEE connue pour {integer(known)} d'entre eux ; {qpv.qpv_origin()}."
        )
    else:
        st.warning(f"**Quartiers prioritaires (QPV)** : couche non chargée. {terr.missing.get('qpv', '')}")
    for key in ("zonage", "grille"):  # the official rural zonings stay with whoever installs the map (CLI)
        if key in terr.missing:
            st.caption(terr.missing[key])

st.subheader("Déposer le fichier officiel des QPV")
st.write(
    "Le fichier des quartiers prioritaires de la politique de la ville (ANCT, data.gouv.fr, génération 2024 ou 2015), en GeoJSON, "
    "GeoPackage ou archive ZIP (Shapefile ou GeoJSON zippé), national ou régional : seuls les quartiers d'Occitanie sont gardés. "
    "La couche ne donne pas toujours la population : joignez le tableau INSEE par quartier (CSV « ; », colonnes CODGEO et POP_MUN) "
    "de la même génération. Le fichier est gardé sur le serveur ; la page Couverture territoriale l'utilise dès son prochain affichage."
)
with st.form("qpv-upload", clear_on_submit=True):
    layer = st.file_uploader("Couche des QPV", type=[suffix.removeprefix(".") for suffix in qpv.LAYER_SUFFIXES])
    population = st.file_uploader("Population INSEE par QPV (facultatif)", type=["csv"])
    submitted = st.form_submit_button("Charger la couche des QPV", type="primary")
if submitted:
    if layer is None:
        st.error("Choisissez d'abord le fichier de la couche des QPV.")
    else:
        try:
            meta = qpv.install_qpv(
                layer.getvalue(),
                layer.name,
                population=population.getvalue() if population else None,
                population_name=population.name if population else "",
                user=user,
            )
        except DataFileError as exc:
            st.error(str(exc))
        else:
            reload_territory()
            st.session_state["geographie_flash"] = (
                f"Couche des QPV chargée : {integer(meta['quartiers'])} quartiers d'Occitanie (génération {', '.join(meta['generations'])})"
                + (f", population de « {meta['population']} »" if meta["population"] else ", sans tableau de population")
                + ". La page Couverture territoriale en tient compte."
            )
            st.rerun()

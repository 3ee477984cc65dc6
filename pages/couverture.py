"""Page « Couverture territoriale »: rural communes and QPV out of reach, where to act next, what if."""

from pathlib import Path

import streamlit as st
from streamlit_folium import st_folium

from cartography.coverage_map import coverage_map
from geodata import coverage as cv
from geodata import coverage_text, rural
from geodata import number_format as nf
from geodata.actors import CIRCLES, FAMILIES, TYPES
from geodata.errors import GeodataError
from pages.common import coverage_directory, download_on_click, territory, territory_version, user_errors
from pages.report_panel import report_buttons

SITES_KEY = "couverture_sites"


@st.cache_resource(show_spinner="Préparation de l'analyse de couverture…", max_entries=1)
def _demand(version: int) -> cv.Demand:
    """The prepared territory, again when staff replace one of its layers (``version``)."""
    return cv.demand_from_territory(territory())


def _downloads(name: str, layer, key: str) -> None:
    """GeoJSON and CSV of a layer, built only when clicked (not at every change of a parameter)."""
    left, right, _ = st.columns([1, 1, 3])
    with left:
        download_on_click("GeoJSON", lambda: cv.to_bytes(layer, "geojson"), file_name=f"{name}.geojson", mime="application/geo+json",
                          key=f"{key}-geojson")
    with right:
        download_on_click("CSV", lambda: cv.to_bytes(layer, "csv"), file_name=f"{name}.csv", mime="text/csv", key=f"{key}-csv")


def _table(name: str, layer, params: cv.Params) -> None:
    """A table for officials: French headers explained on hover, French number format, people left out first."""
    frame, columns = coverage_text.table_for_officials(name, layer, params)
    config = {c: st.column_config.Column(label, help=help_text or None, width=coverage_text.column_width(name, c, kind))
              for c, (label, help_text, kind) in columns.items()}
    styled = frame.style.format(coverage_text.display_format(columns), na_rep="")
    wrapped = name in coverage_text.WRAPPED  # long names wrap on taller rows instead of being cut off
    st.dataframe(styled, column_config=config, hide_index=True, width="stretch",
                 row_height=coverage_text.WRAPPED_ROW_HEIGHT if wrapped else None, height=600 if wrapped else "auto")


def _params(terr, has_qpv: bool, any_zone: bool) -> tuple[cv.Params, int]:
    defs = rural.available_definitions(terr.rural)
    with st.sidebar:
        st.header("Paramètres")
        circles = st.multiselect(
            "Cercles comptés",
            CIRCLES,
            placeholder="Tous",
            help="Vide : tous les acteurs. Les Fab Labs et sites de tourisme n'ont pas de cercle.",
        )
        types = st.multiselect("Types de structure comptés", TYPES, placeholder="Tous", help="Vide : tous les types.")
        families = st.multiselect(
            "Familles comptées", placeholder="Toutes", options=list(FAMILIES), format_func=FAMILIES.get, help="Vide : toutes les familles."
        )
        rural_km = st.slider("Portée pour les communes rurales (km)", 1.0, 60.0, cv.DEFAULT_RURAL_REACH_KM, 0.5, format="%.1f")
        # Without the QPV layer, the QPV controls would do nothing: they are not shown.
        qpv_km = st.slider("Portée pour les QPV (km)", 0.1, 10.0, cv.DEFAULT_QPV_REACH_KM, 0.1, format="%.1f") if has_qpv else cv.DEFAULT_QPV_REACH_KM
        definition = st.selectbox("Définition du rural", defs, format_func=lambda d: d.label)
        detour = st.slider("Facteur de détour", 1.0, 2.0, cv.Params.detour_factor, 0.05, help=coverage_text.DETOUR_HELP)
        itinerant = st.toggle("Compter les offres itinérantes", value=any_zone, disabled=not any_zone, help=coverage_text.ITINERANT_HELP)
        k = st.number_input("Où agir ensuite : nombre de sites à proposer (K)", 1, 50, 10)
        weight = (
            st.slider("Poids des QPV face au rural", 0.0, 1.0, cv.Params.qpv_weight, 0.05, help="0 : seule la population rurale compte ; 1 : seule celle des QPV.")
            if has_qpv
            else 0.0
        )
    params = cv.Params(
        rural_reach_km=rural_km,
        qpv_reach_km=qpv_km,
        rural_definition=definition.key,
        detour_factor=detour,
        circles=tuple(circles) or None,
        types=tuple(types) or None,
        families=tuple(families) or None,
        qpv_weight=weight,
        itinerant=itinerant,
    )
    return params.validate(), int(k)


def _hypothetical() -> cv.Sites:
    sites = cv.Sites.empty()
    for s in st.session_state.get(SITES_KEY, []):
        sites = sites + cv.site_from_coordinates(s["lon"], s["lat"], s["nom"])
    return sites


def _add_sites(new: cv.Sites) -> None:
    lon, lat = new.lonlat()
    st.session_state.setdefault(SITES_KEY, []).extend({"nom": n, "lon": float(x), "lat": float(y)} for n, x, y in zip(new.names, lon, lat))


def _headline(summary: dict, before: dict | None, has_qpv: bool) -> None:
    """Headline figures as ranges (actors known only at their commune); with hypothetical sites, the change they bring as a delta."""
    for group in ["rural", "qpv"] if has_qpv else ["rural"]:
        for col, (label, key, total) in zip(st.columns(3), coverage_text.HEADLINES[group]):
            share = key.startswith("part")
            value, point = coverage_text.headline_figure(summary, key, total)
            delta = None
            if before is not None and before[key] != summary[key]:
                change = summary[key] - before[key]
                delta = f"{nf.decimal(change * 100, 1, missing='')} pts" if share else nf.signed(change)
                delta = delta if delta.startswith(("-", "+")) else "+" + delta
            col.metric(label, value, delta, delta_color="normal" if share else "inverse",
                       help=f"D'après le point où chaque acteur est placé : {point}.")


def _what_if(demand: cv.Demand, steps) -> None:
    st.write(
        "Ajoutez des sites imaginaires (un camion de la science, un nouveau partenaire) : tous les chiffres et la carte en tiennent compte."
    )
    names = dict(zip(demand.communes["code_insee"], demand.communes["nom"] + " (" + demand.communes["code_insee"] + ")"))
    left, right = st.columns(2)
    with left.form("site-commune", clear_on_submit=True):
        code = st.selectbox("Commune", list(names), format_func=names.get, index=None, placeholder="Choisir une commune")
        if st.form_submit_button("Ajouter ce site") and code:
            _add_sites(cv.sites_from_communes(demand, [code]))
            st.rerun()
    with right.form("site-coordonnees", clear_on_submit=True):
        lon, lat, label = (
            st.text_input("Longitude (WGS 84)", placeholder="1.4442"),
            st.text_input("Latitude", placeholder="43.6045"),
            st.text_input("Nom"),
        )
        if st.form_submit_button("Ajouter ce point"):
            try:
                _add_sites(cv.site_from_coordinates(lon, lat, label))
                st.rerun()
            except GeodataError as exc:
                st.error(str(exc))
    a, b = st.columns(2)
    if a.button("Ajouter les sites proposés (où agir ensuite)", disabled=steps.empty):
        _add_sites(cv.sites_from_steps(steps))
        st.rerun()
    if b.button("Retirer tous les sites hypothétiques", disabled=not st.session_state.get(SITES_KEY)):
        st.session_state[SITES_KEY] = []
        st.rerun()


st.html(Path(__file__).with_suffix(".css"))  # static style of the headline ranges (no data in it)
st.title("Couverture territoriale")
st.caption(
    "Groupe de travail G5 : quelles communes rurales et quels quartiers prioritaires (QPV) n'ont aucun acteur de la culture "
    "scientifique à portée, combien d'habitants y vivent, et où agir ensuite."
)
with user_errors():
    terr = territory()
    demand = _demand(territory_version())
    actors = coverage_directory()
    params, k = _params(terr, demand.has_qpv, coverage_text.declares_zones(actors))
    hypothetical = _hypothetical()
    with st.spinner("Calcul en cours…"):
        analysis = cv.analyse(demand, actors, params, hypothetical=hypothetical, k=k)
    counted, result, steps, layers = analysis.counted, analysis.coverage, analysis.steps, analysis.layers

    if not demand.has_qpv:
        st.info(coverage_text.QPV_MISSING)
    st.markdown(
        f"**{nf.integer(len(counted))} acteurs comptés**"
        + (
            f" et **{len(hypothetical)} site{'s' if len(hypothetical) > 1 else ''} hypothétique{'s' if len(hypothetical) > 1 else ''}**"
            if len(hypothetical)
            else ""
        )
    )
    _headline(result.summary(), analysis.before, demand.has_qpv)
    st.caption(coverage_text.precision_note(len(counted), result.n_commune_level))
    report_buttons(analysis, terr.reference, k)
    for note in coverage_text.method_notes(demand, params, result):
        st.caption(note)

    tabs = st.tabs(["Carte", "Communes rurales hors de portée", "QPV", "Par département", "Par intercommunalité", "Où agir ensuite", "Et si…"])
    with tabs[0], st.spinner("Dessin de la carte…"):
        st_folium(
            coverage_map(demand, result, analysis.sites, steps=steps),
            height=620,
            use_container_width=True,
            returned_objects=[],
            key="carte-couverture",
        )
    with tabs[1]:
        st.caption("Communes rurales hors de portée d'après le point de chaque acteur, les plus peuplées d'abord ; le verdict tient "
                   "compte des acteurs placés seulement à leur commune.")
        _table("communes_rurales_hors_portee", layers["communes_rurales_hors_portee"], params)
        _downloads("communes_rurales_hors_portee", layers["communes_rurales_hors_portee"], "gaps")
        st.caption("Toutes les communes, avec la distance à l'acteur le plus proche :")
        _downloads("communes", layers["communes"], "communes")
    with tabs[2]:
        if demand.has_qpv:
            st.caption("Quartiers hors de portée d'abord, puis incertains, puis à portée ; les plus peuplés d'abord.")
            _table("qpv", layers["qpv"], params)
            _downloads("qpv", layers["qpv"], "qpv")
            st.caption("QPV hors de portée seulement :")
            _downloads("qpv_hors_portee", layers["qpv_hors_portee"], "qpv-gaps")
        else:
            st.info(coverage_text.QPV_MISSING)
    with tabs[3]:
        st.caption("Départements classés par habitants ruraux hors de portée ; la dernière ligne est la région entière.")
        _table("departements", layers["departements"], params)
        _downloads("couverture_departements", layers["departements"], "deps")
    with tabs[4]:
        if "epci" in layers:
            st.caption("Intercommunalités (EPCI) touchant l'Occitanie, classées par habitants ruraux hors de portée ; celles qui "
                       "débordent de la région sont comptées sur leur partie en Occitanie ; un QPV compte dans l'EPCI de sa commune.")
            _table("epci", layers["epci"], params)
            _downloads("couverture_epci", layers["epci"], "epci")
    with tabs[5]:
        st.write(
            f"Les {k} communes dont le point représentatif mettrait à portée le plus d'habitants encore hors de portée "
            "(recherche gloutonne de couverture maximale : chaque étape prend la commune qui apporte le plus, compte tenu des précédentes). "
            "Le score d'une étape pondère les habitants ruraux et ceux des QPV qu'elle met à portée (survolez l'en-tête « Score »)."
        )
        _table("ou_agir", layers["ou_agir"], params)
        _downloads("ou_agir_ensuite", layers["ou_agir"], "next")
    with tabs[6]:
        _what_if(demand, steps)
        if "sites_hypothetiques" in layers:
            _table("sites_hypothetiques", layers["sites_hypothetiques"], params)
            _downloads("sites_hypothetiques", layers["sites_hypothetiques"], "hyp")

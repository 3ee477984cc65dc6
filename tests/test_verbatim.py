"""Data is never template source: template payloads in every text field render as typed on every map, page and the static site."""

from __future__ import annotations

import ast
import json
import pickle
import re
from pathlib import Path

import branca.element
import folium
import geopandas as gpd
import pandas as pd
import pytest
import streamlit as st
from shapely.geometry import box

from cartography.actors_map import actors_page, client_config, embedded_strings, map_html, page_data
from cartography.base import base_map
from cartography.choropleth import choropleth_map
from cartography.coverage_map import coverage_map
from cartography.escape import safe_url
from cartography.publish import publish_site
from geodata import coverage as cv
from geodata.actors import FIELD_NAMES
from geodata.directory import load_directory
from geodata.settings import get_settings
from geodata.store import STORE_FILE, Store
from tests.test_coverage import GREEDY, lonlat, make_demand, sites
from tests.test_coverage_page import run_page
from tests.test_staff_pages import PASSWORD, all_text, login, open_page
from tests.test_staff_pages import accounts as accounts  # noqa: PLC0414 (the fixture, shared)

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = Path(__file__).parent / "fixtures" / "hostile_actors.csv"

SEVEN = "SSTI-{{7*7}}-END"
LOOP = "{% for x in range(3) %}x{% endfor %}"
COMMENT = "{#"
#: Creates the folder $SSTI_CANARY through Jinja's globals, without a quote or a ``$``, so escaping does not stop it.
CANARY = "{{lipsum.__globals__.os.mkdir(lipsum.__globals__.os.environ.SSTI_CANARY)}}"
POPEN = "{{ lipsum.__globals__.os.popen('touch ${SSTI_CANARY:-/tmp/ssti-canary}').read() }}"
#: Made the page show a TemplateSyntaxError with a traceback.
JS = "{{constructor.constructor('window.__pwned=1')()}}"
PAYLOADS = (SEVEN, LOOP, COMMENT, CANARY, POPEN, JS)
ALL = " ".join(PAYLOADS)
FIXED_CANARY = Path("/tmp/ssti-canary")


@pytest.fixture(autouse=True)
def canary(tmp_path, monkeypatch):
    """The folder a payload would create if it ran on the server: absent before and after every test."""
    path = tmp_path / "canary"
    monkeypatch.setenv("SSTI_CANARY", str(path))
    assert not FIXED_CANARY.exists(), f"{FIXED_CANARY} existe déjà : supprimez-le"
    yield path
    assert not path.exists(), "a template payload ran on the server"
    assert not FIXED_CANARY.exists(), "a template payload ran on the server"


def assert_literal(text: str) -> None:
    """``{{7*7}}`` is there as typed and was never evaluated; the loop was not run."""
    assert "SSTI-49-END" not in text
    assert SEVEN in text
    assert LOOP in text


@pytest.fixture(scope="module")
def hostile(reference):
    return load_directory(settings=get_settings({"CSTI_ACTORS_FILE": str(HOSTILE)}), reference=reference)


def test_fixture_has_payloads_in_every_text_field():
    raw = pd.read_csv(HOSTILE, dtype=str, keep_default_na=False)
    codes = {"id", "cercle", "code_postal", "code_insee"}
    for field in set(raw.columns) - codes:
        text = " ".join(raw[field])
        assert "{{" in text or "{%" in text or "{#" in text, field
    text = " ".join(raw.to_numpy().ravel())
    assert all(p in text for p in PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_text_given_to_an_element_renders_verbatim(payload):
    element = branca.element.Element(payload)
    assert element.render() == payload
    assert pickle.loads(pickle.dumps(element)).render() == payload  # a cached map, unpickled
    assert folium.Element(f"<div>{payload}</div>").render() == f"<div>{payload}</div>"


def test_every_folium_element_carries_payloads_as_typed():
    """Elements the project does not use today are covered too: the rule sits where branca compiles text."""
    m = base_map(None)
    folium.Marker((43.6, 1.44), tooltip=ALL, popup=ALL).add_to(m)
    folium.Marker((43.7, 1.5), icon=folium.DivIcon(html=f"<b>{ALL}</b>")).add_to(m)
    folium.CircleMarker((43.8, 1.6), tooltip=folium.Tooltip(ALL), popup=folium.Popup(folium.IFrame(ALL))).add_to(m)
    feature = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"nom": ALL}, "geometry": {"type": "Point", "coordinates": [1.4, 43.5]}}]}
    folium.GeoJson(feature, tooltip=folium.GeoJsonTooltip(["nom"], aliases=[ALL]), popup=folium.GeoJsonPopup(["nom"])).add_to(m)
    m.get_root().html.add_child(folium.Element(f"<p>{ALL}</p>"))
    assert_literal(map_html(m))


def test_public_map(hostile, reference):
    departements = reference.departements.copy()
    departements["nom"] = ALL
    html = actors_page(hostile, departements, config=client_config(mode="site"))
    assert_literal(html)  # department names
    strings = embedded_strings(page_data(html)["z"])
    for name in hostile["nom"]:
        assert name.strip() in strings


def test_coverage_map_with_steps_and_hypothetical_sites():
    demand = make_demand(GREEDY, qpv=[("QP009001", 60_000, 0, 300, 700, "09"), ("QP009002", 0, 0, 300, 50, "09")])
    for frame, column in ((demand.communes, "nom"), (demand.qpv, "nom_qp"), (demand.qpv, "communes"), (demand.departements, "nom")):
        frame.loc[:, column] = ALL
    site_list = sites((0, 0), names=[ALL]) + cv.site_from_coordinates(*lonlat(100_000, 0), ALL)
    result = cv.compute_coverage(demand, site_list, cv.Params(rural_reach_km=12, qpv_reach_km=1))
    steps = cv.where_next(demand, result, 3)
    assert len(steps) >= 1 and (steps["nom"] == ALL).all()
    html = coverage_map(demand, result, site_list, steps=steps).get_root().render()
    assert_literal(html)


def test_choropleth_map():
    areas = gpd.GeoDataFrame(
        {"nom": [ALL, SEVEN, LOOP], "valeur": [0.0, 3.0, 7.0]},
        geometry=[box(1, 43, 1.5, 43.5), box(1.5, 43, 2, 43.5), box(2, 43, 2.5, 43.5)],
        crs="EPSG:4326",
    )
    departements = gpd.GeoDataFrame({"code_departement": ["31"], "nom": [ALL]}, geometry=[box(1, 43, 2.5, 43.5)], crs="EPSG:4326")
    html = map_html(choropleth_map(areas, "valeur", title=ALL, departements=departements))
    assert_literal(html)


def test_static_site(tmp_path, reference, hostile):
    pub = publish_site(tmp_path / "site", hostile, reference.departements, reference.communes, title=f"Carte {SEVEN} {LOOP}")
    page = (pub.directory / "index.html").read_text(encoding="utf-8")
    assert_literal(page)  # the title
    script = (pub.directory / "carte.js").read_text(encoding="utf-8")
    assert "SSTI-49-END" not in script
    published = json.loads((pub.directory / "acteurs.geojson").read_text(encoding="utf-8"))
    names = {f["properties"]["nom"] for f in published["features"]}
    assert {n.strip() for n in hostile["nom"]} <= {n.strip() for n in names}
    assert "SSTI-49-END" not in (pub.directory / "acteurs.csv").read_text(encoding="utf-8-sig")


def test_only_cartography_builds_maps():
    """Whoever builds a folium map imports cartography, which installs the verbatim rule first."""
    offenders = []
    for path in [*ROOT.glob("*.py"), *ROOT.glob("pages/*.py"), *ROOT.glob("geodata/**/*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        tops = {m.split(".")[0] for m in modules}
        if tops & {"folium", "branca", "jinja2", "streamlit_folium"} and "cartography" not in tops:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# -- Every page through app.py, with a hostile directory ---------------------------------------------------------------


@pytest.fixture
def hostile_app(tmp_path, monkeypatch):
    monkeypatch.setenv("CSTI_ACTORS_FILE", str(HOSTILE))
    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CSTI_QPV_FILE", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.mark.parametrize("page", ["pages/carte.py", "pages/statistiques.py"])
def test_public_pages(hostile_app, page):
    at = open_page(page)
    text = all_text(at)
    assert "SSTI-49-END" not in text and "TemplateSyntaxError" not in text and "Traceback" not in text
    if page == "pages/carte.py":
        # The map page the app wrote for its iframe (the same client as the static site): names as typed, never evaluated.
        from cartography.assets import ROOT

        src = re.search(r"/app/static/(vendor/carte/carte-[0-9a-f]+\.html)", text).group(1)
        html = (ROOT / "static" / src).read_text(encoding="utf-8")
        assert_literal(html)  # themes travel as plain JSON
        strings = embedded_strings(page_data(html)["z"])
        assert any(SEVEN in s for s in strings) and not any("SSTI-49-END" in s for s in strings)


def test_coverage_page_with_a_hostile_directory_and_what_if_name(hostile_app):
    at = run_page()
    assert "SSTI-49-END" not in all_text(at)
    by_label = {t.label: t for t in at.text_input}
    by_label["Longitude (WGS 84)"].set_value("3.5")
    by_label["Latitude"].set_value("44.5")
    by_label["Nom"].set_value(ALL)
    next(b for b in at.button if b.label == "Ajouter ce point").click().run()
    assert not at.exception, at.exception
    assert not at.error
    assert "et **1 site hypothétique**" in " ".join(m.value for m in at.markdown)
    text = all_text(at)
    assert "TemplateSyntaxError" not in text and "Traceback" not in text
    assert_literal(text)  # the map's script handed to the component carries the typed name


def test_staff_pages_with_hostile_entries(hostile_app, tmp_path, monkeypatch, accounts):
    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CSTI_STAFF_ACCOUNTS", accounts)
    raw = pd.read_csv(HOSTILE, dtype=str, keep_default_na=False)
    for name in FIELD_NAMES:
        if name not in raw:
            raw[name] = ""
    # What the store accepts (it refuses non-http links and unknown types); every payload stays.
    raw["site_web"] = [u if safe_url(u) else "" for u in raw["site_web"]]
    raw.loc[raw["type_structure"].str.contains("<"), "type_structure"] = "autre"
    Store(tmp_path / STORE_FILE).replace_all(raw[list(FIELD_NAMES)], user="test")
    at = login(open_page("pages/edition.py"), "alice", PASSWORD)
    for page in ("pages/edition.py", "pages/exports.py", "pages/import_geocodage.py"):
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
        text = all_text(at)
        assert "SSTI-49-END" not in text and "TemplateSyntaxError" not in text, page
        if page == "pages/edition.py":
            assert SEVEN in text

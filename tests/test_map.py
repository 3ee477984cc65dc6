"""The public map: compact payload, no CDN, hostile text never reaches the page as markup."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from cartography.actors_map import (
    actor_payload,
    actors_map,
    embedded_payload,
    embedded_strings,
    js_json,
    map_html,
    pack,
    unpack,
)
from cartography.assets import install_assets
from cartography.base import base_map, communes_outlines_geojson
from geodata.actors import placed_mask
from geodata.directory import load_directory
from geodata.settings import get_settings

HOSTILE = Path(__file__).parent / "fixtures" / "hostile_actors.csv"
CDN = re.compile(r"(cdn\.jsdelivr|cdnjs|unpkg|code\.jquery|bootstrapcdn|netdna|googleapis)", re.I)


@pytest.fixture(scope="module")
def sample(reference):
    return load_directory(settings=get_settings(), reference=reference)


@pytest.fixture(scope="module")
def hostile(reference):
    return load_directory(settings=get_settings({"CSTI_ACTORS_FILE": str(HOSTILE)}), reference=reference)


@pytest.mark.parametrize("values", [[0], [5, 0, 63, 64, 4095, 4096], [-3, 10, 7], list(range(1000)), [4_512_345, 4_234_567]])
def test_pack_roundtrip(values):
    assert unpack(pack(values)).tolist() == values


def test_js_json_cannot_close_the_script():
    text = js_json(["</script><script>alert(1)</script>", "<!--", "a\u2028b", "&amp;"])
    assert "<" not in text and ">" not in text and "\u2028" not in text and "&" not in text
    assert json.loads(text) == ["</script><script>alert(1)</script>", "<!--", "a\u2028b", "&amp;"]


def test_payload_matches_the_directory(sample):
    sample = sample.copy()
    sample.loc[sample.index[:2], "geometry"] = None  # two actors the geocoder could not place
    p = actor_payload(sample)
    placed = sample[placed_mask(sample)]
    assert p["count"] == len(placed) == len(sample) - 2
    lat = unpack(p["lat"]) / p["scale"]
    assert np.allclose(lat, placed.geometry.y, atol=1e-5)
    names = [p["strings"][i] for i in unpack(p["n"])]
    assert names == [n.strip() for n in placed["nom"]]
    fams = [p["families"][i]["key"] for i in unpack(p["f"])]
    assert fams == list(placed["famille"])
    assert sum(p["family_counts"]) == len(placed)


def test_payload_keeps_only_http_links(hostile):
    p = actor_payload(hostile)
    urls = [p["strings"][i] for i in unpack(p["u"])]
    assert all(u == "" or u.startswith(("http://", "https://")) for u in urls)
    assert "javascript:window.__pwned='lien'" not in p["strings"]
    assert sum(1 for u in urls if u) == 4  # the four http(s) addresses of the fixture
    # An unknown type (here a script tag) is shown as « Autre », never as its text.
    assert {t["key"] for t in p["types"]} <= {"association", "musée/centre de sciences", "autre", "Fab Lab", "bibliothèque",
                                              "laboratoire/université", "site de tourisme scientifique"}


def test_payload_has_no_private_field(reference):
    import geopandas as gpd
    from shapely.geometry import Point

    actors = gpd.GeoDataFrame({"nom": ["A"], "type_structure": ["association"], "famille": ["cercle1"], "contact_email": ["secret@x.fr"],
                               "contact_telephone": ["0600000000"]}, geometry=[Point(1.44, 43.6)], crs="EPSG:4326")
    html = map_html(actors_map(actors, reference.departements))
    assert "secret@x.fr" not in html and "0600000000" not in html


def test_hostile_text_never_appears_raw_in_the_page(hostile, reference):
    html = map_html(actors_map(hostile, reference.departements, controls=True, permalink="hash"))
    script_part = html[html.index("(function () {\n  var map"):]
    for needle in ("<script>window", "<img src=x", "<svg onload", "</script><script>", "<!-- commentaire", "<b>gras"):
        assert needle not in script_part, needle
    # Exactly one data blob, and it parses back to the original names; the strings travel gzipped in base 64.
    assert "window.__pwned" not in html
    payload = _embedded(html)
    assert "strings" not in payload and re.fullmatch(r"[A-Za-z0-9+/]*=*", payload["z"])
    assert "<script>window.__pwned = 'script'</script>Club <b>gras</b>" in embedded_strings(payload["z"])


def _embedded(html: str) -> dict:
    return json.loads(re.search(r"var D = (\{.*?\});\n", html).group(1))


def test_embedded_payload_roundtrip(hostile):
    p = actor_payload(hostile)
    e = embedded_payload(p)
    assert embedded_strings(e["z"]) == p["strings"]
    assert {k: v for k, v in e.items() if k != "z"} == {k: v for k, v in p.items() if k != "strings"}


def test_fifty_thousand_distinct_names_fit_in_two_megabytes(sample, reference):
    from benchmarks.maps import synthetic_actors

    actors = synthetic_actors(sample, reference.communes, 50_000, unique_names=True)
    assert actors["nom"].nunique() == 50_000
    html = map_html(actors_map(actors, reference.departements, prefix="vendor"))
    assert len(html.encode("utf-8")) <= 2_000_000
    payload = _embedded(html)
    assert payload["count"] == 50_000
    names = embedded_strings(payload["z"])
    assert len(set(names)) >= 50_000  # every name is still sent, only compressed


def test_no_cdn_and_local_assets(sample, reference):
    html = map_html(actors_map(sample, reference.departements, prefix="vendor"))
    assert not CDN.search(html)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts == ["vendor/leaflet/leaflet.js", "vendor/markercluster/leaflet.markercluster.js"]
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()


def test_installed_assets_exist(tmp_path):
    dest = install_assets(tmp_path / "vendor")
    assert (dest / "leaflet" / "leaflet.js").stat().st_size > 100_000
    assert (dest / "markercluster" / "leaflet.markercluster.js").exists()
    assert install_assets(tmp_path / "vendor") == dest  # idempotent


def test_base_map_is_stable_for_other_maps(reference):
    m = base_map(reference.departements, base="osm")
    html = map_html(m)
    assert "tile.openstreetmap.org" in html and "Départements" not in html.split("<script>")[0]
    assert "fitBounds" in html


def test_permalink_modes(sample, reference):
    parent = map_html(actors_map(sample, reference.departements, permalink="parent", location=(43.6, 3.9), zoom=9))
    assert "window.parent" in parent and "searchParams.set('z'" in parent
    assert "fitBounds([[42.33" not in parent.replace(" ", "")
    with pytest.raises(ValueError, match="permalink"):
        actors_map(sample, reference.departements, permalink="cookie")


def test_empty_selection_still_renders(sample, reference):
    html = map_html(actors_map(sample.iloc[0:0], reference.departements))
    assert '"count":0' in html


def test_commune_outlines_are_light_geojson(reference):
    data = json.loads(communes_outlines_geojson(reference.communes))
    assert len(data["features"]) == len(reference.communes)
    assert set(data["features"][0]["properties"]) == {"code_insee", "nom"}

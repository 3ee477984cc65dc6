"""The public map: compact payload, the client's files (render tests), no CDN, hostile text never reaches the page as markup."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from cartography.actors_map import (
    actor_payload,
    actors_page,
    binary_payload,
    client_config,
    embedded_columns,
    embedded_payload,
    embedded_strings,
    hilbert_keys,
    js_json,
    map_html,
    page_data,
    places_payload,
    read_binary_payload,
    spatial_order,
)
from cartography.assets import CLIENT_DIR, NPM, NpmPackage, install_assets, integrity_of, npm_file
from cartography.base import base_map, communes_outlines_geojson
from geodata.actors import placed_mask
from geodata.directory import load_directory
from geodata.errors import GeodataError
from geodata.settings import get_settings

HOSTILE = Path(__file__).parent / "fixtures" / "hostile_actors.csv"
CDN = re.compile(r"(cdn\.jsdelivr|cdnjs|unpkg|code\.jquery|bootstrapcdn|netdna|googleapis)", re.I)


def page(actors, departements=None, **config) -> str:
    """The map page as the static site writes it (local files under ``vendor``)."""
    return actors_page(actors, departements, config=client_config(mode=config.pop("mode", "site"), **config), vendor="vendor", client="")


@pytest.fixture(scope="module")
def sample(reference):
    return load_directory(settings=get_settings(), reference=reference)


@pytest.fixture(scope="module")
def hostile(reference):
    return load_directory(settings=get_settings({"CSTI_ACTORS_FILE": str(HOSTILE)}), reference=reference)


@pytest.mark.parametrize("values", [[0], [5, 0, 127, 128, 16383, 16384, 2**28 + 5], list(range(1000)), []])
def test_binary_columns_roundtrip(values):
    texts = ["", "é", "a\u0000b", "😀 emoji", "\n</script>", "x" * 300][: len(values) or 6]
    signed = [v - 500 for v in values] + [-4_512_345, 4_512_345] if values else []
    blob = binary_payload([("u", "varint", values), ("z", "zdelta", signed), ("s", "text", texts)])
    assert read_binary_payload(blob) == {"u": values, "z": signed, "s": texts}


def test_spatial_order_keeps_neighbours_together():
    rng = np.random.default_rng(0)
    xs, ys = rng.integers(0, 500_000, 5000), rng.integers(4_200_000, 4_500_000, 5000)
    order = spatial_order(xs, ys)
    assert sorted(order.tolist()) == list(range(5000))
    step = np.hypot(np.diff(xs[order]), np.diff(ys[order]))
    assert np.median(step) < np.median(np.hypot(np.diff(xs), np.diff(ys))) / 10


def _xy2d(n: int, x: int, y: int) -> int:
    """The textbook Hilbert ``xy2d``, one point at a time."""
    d, s = 0, n // 2
    while s > 0:
        rx, ry = int(x & s > 0), int(y & s > 0)
        d += s * s * ((3 * rx) ^ ry)
        if ry == 0:
            if rx == 1:
                x, y = n - 1 - x, n - 1 - y
            x, y = y, x
        s //= 2
    return d


def test_hilbert_keys_are_the_textbook_curve():
    n = 32
    xs, ys = np.meshgrid(np.arange(n), np.arange(n))
    keys = hilbert_keys(xs.ravel(), ys.ravel(), bits=5)
    assert keys.tolist() == [_xy2d(n, int(x), int(y)) for x, y in zip(xs.ravel(), ys.ravel())]
    assert sorted(keys.tolist()) == list(range(n * n))
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 1 << 16, 200), rng.integers(0, 1 << 16, 200)
    assert hilbert_keys(x, y).tolist() == [_xy2d(1 << 16, int(a), int(b)) for a, b in zip(x, y)]


def test_places_memo_follows_the_reference(reference):
    first = places_payload(reference.communes, reference.codes_postaux)
    assert places_payload(reference.communes, reference.codes_postaux) is first
    renamed = reference.communes.copy()
    renamed.loc[renamed["nom"] == "Toulouse", "nom"] = "Tolosa"
    names = {p[0] for p in places_payload(renamed, reference.codes_postaux)}
    assert "Tolosa" in names and "Toulouse" not in names
    fewer = reference.codes_postaux[reference.codes_postaux["code_postal"].astype(str) != "31500"]
    toulouse = next(p for p in places_payload(reference.communes, fewer) if p[0] == "Toulouse")
    assert "31500" not in toulouse[1].split()
    # The places' block of a page follows its places too.
    cfg = client_config(mode="site")
    blocks = {page_payload_g(reference, first[:n], cfg) for n in (10, 20, 10)}
    assert len(blocks) == 2


def page_payload_g(reference, places, cfg) -> str:
    from cartography.actors_map import page_payload

    return page_payload(load_directory(reference=reference).iloc[:0], reference.departements, places=places, config=cfg)["g"]


def test_js_json_cannot_close_the_script():
    text = js_json(["</script><script>alert(1)</script>", "<!--", "a\u2028b", "&amp;"])
    assert "<" not in text and ">" not in text and "\u2028" not in text and "&" not in text
    assert json.loads(text) == ["</script><script>alert(1)</script>", "<!--", "a\u2028b", "&amp;"]


def test_payload_matches_the_directory(sample):
    sample = sample.copy()
    sample.loc[sample.index[:2], "geometry"] = None  # two actors the geocoder could not place
    p = actor_payload(sample)
    placed = sample[placed_mask(sample)].iloc[p["order"]]  # the payload's order (spatial)
    assert p["count"] == len(placed) == len(sample) - 2
    # What the page carries decodes back to the directory.
    cols = embedded_columns(embedded_payload(p)["z"])
    lat = np.array(cols["lat"]) / p["scale"]
    assert np.allclose(lat, placed.geometry.y, atol=1e-5)
    assert cols["n"] == [n.strip() for n in placed["nom"]]
    assert [p["families"][i]["key"] for i in cols["f"]] == list(placed["famille"])
    assert [cols["communes"][i] for i in cols["c"]] == [c.strip() for c in placed["commune_lieu"]]
    assert [p["depts"][i] for i in cols["d"]] == list(placed["code_departement"])
    themes = [";".join(p["themes"][j] for j in p["combos"][h]) for h in cols["h"]]
    assert [set(t.split(";")) - {""} for t in themes] == [set(x.strip() for x in str(v).split(";")) - {"", "nan", "None"} for v in placed["thematiques"]]
    ids = [i or f"{p['idMark']}{k + 1}" for k, i in enumerate(cols["i"])]
    assert len(set(ids)) == len(ids)
    assert sum(p["family_counts"]) == len(placed)


def test_payload_keeps_only_http_links(hostile):
    p = actor_payload(hostile)
    urls = p["columns"]["u"]
    assert all(u == "" or u.startswith(("http://", "https://")) for u in urls)
    assert "javascript:window.__pwned='lien'" not in embedded_strings(embedded_payload(p)["z"])
    assert sum(1 for u in urls if u) == 4  # the four http(s) addresses of the fixture
    # An unknown type (here a script tag) is shown as « Autre », never as its text.
    assert {t["key"] for t in p["types"]} <= {"association", "musée/centre de sciences", "autre", "Fab Lab", "bibliothèque",
                                              "laboratoire/université", "site de tourisme scientifique"}


def test_payload_has_no_private_field(reference):
    import geopandas as gpd
    from shapely.geometry import Point

    actors = gpd.GeoDataFrame({"nom": ["A"], "type_structure": ["association"], "famille": ["cercle1"], "contact_email": ["secret@x.fr"],
                               "contact_telephone": ["0600000000"]}, geometry=[Point(1.44, 43.6)], crs="EPSG:4326")
    html = page(actors, reference.departements)
    assert "secret@x.fr" not in html and "0600000000" not in html


def test_hostile_text_never_appears_raw_in_the_page(hostile, reference):
    html = page(hostile, reference.departements)
    for needle in ("<script>window", "<img src=x", "<svg onload", "</script><script>", "<!-- commentaire", "<b>gras"):
        assert needle not in html, needle
    # Exactly one data block, never executed (JSON), and it parses back to the original names; the strings travel gzipped in base 64.
    assert "window.__pwned" not in html
    assert html.count('<script type="application/json" id="csti-data">') == 1
    payload = page_data(html)
    assert "columns" not in payload and re.fullmatch(r"[A-Za-z0-9+/]*=*", payload["z"])
    assert "<script>window.__pwned = 'script'</script>Club <b>gras</b>" in embedded_strings(payload["z"])
    # Every other script of the page is a file.
    assert re.findall(r"<script>", html) == []


def test_embedded_payload_roundtrip(hostile):
    p = actor_payload(hostile)
    e = embedded_payload(p)
    cols = embedded_columns(e["z"])
    for key, values in p["columns"].items():
        assert cols[key] == list(values), key
    assert cols["communes"] == p["communes"]
    assert {k: v for k, v in e.items() if k != "z"} == {k: v for k, v in p.items() if k not in ("columns", "order", "communes")}


def test_fifty_thousand_realistic_actors_fit_in_one_megabyte_and_a_fifth(sample, reference):
    from benchmarks.maps import synthetic_actors

    actors = synthetic_actors(sample, reference.communes, 50_000, realistic=True, seed=1)
    assert actors["nom"].nunique() == 50_000
    html = actors_page(actors, reference.departements, config=client_config(mode="site"), vendor="vendor", client="",
                       places=places_payload(reference.communes, reference.codes_postaux))
    assert len(html.encode("utf-8")) <= 1_200_000  # as sent by a server that compresses nothing
    payload = page_data(html)
    assert payload["count"] == 50_000
    names = embedded_strings(payload["z"])
    assert len(set(names)) >= 50_000  # every name is still sent, only compressed


def test_no_cdn_and_local_assets(sample, reference):
    html = page(sample, reference.departements)
    assert not CDN.search(html)
    scripts = re.findall(r'<script (?:id="csti-engine" )?src="([^"]+)"', html)
    assert re.fullmatch(r"carte-worker\.js\?v=[0-9a-f]{12}", scripts[0]) and scripts[1] == "vendor/leaflet/leaflet.js"
    assert re.fullmatch(r"carte\.js\?v=[0-9a-f]{12}", scripts[2]) and len(scripts) == 3
    assert 'data-supercluster="vendor/supercluster/supercluster.min.js"' in html  # the worker imports it
    assert re.findall(r'<link rel="stylesheet" href="([^"?]+)', html) == ["vendor/leaflet/leaflet.css", "carte.css"]
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()
    app = actors_page(sample, reference.departements, config=client_config(mode="app"))
    assert '"/app/static/vendor/client/carte.js?v=' in app.replace("src=", "") or 'src="/app/static/vendor/client/carte.js?v=' in app


def test_installed_assets_exist(tmp_path):
    dest = install_assets(tmp_path / "vendor")
    assert (dest / "leaflet" / "leaflet.js").stat().st_size > 100_000
    assert (dest / "markercluster" / "leaflet.markercluster.js").exists()
    assert b"Supercluster" in (dest / "supercluster" / "supercluster.min.js").read_bytes()
    assert (dest / "client" / "carte.js").read_bytes() == (CLIENT_DIR / "carte.js").read_bytes()
    assert install_assets(tmp_path / "vendor") == dest  # idempotent


def _tarball(files: dict[str, bytes]) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_npm_file_checks_the_integrity_then_caches(tmp_path, monkeypatch):
    good = _tarball({"dist/x.js": b"console.log(1)"})
    monkeypatch.setitem(NPM, "x", NpmPackage("x", "1.0.0", integrity_of(good), "dist/x.js"))
    fetched = []

    def fetch(url):
        fetched.append(url)
        return good

    assert npm_file("x", cache=tmp_path, fetch=fetch) == b"console.log(1)"
    assert fetched == ["https://registry.npmjs.org/x/-/x-1.0.0.tgz"]
    assert npm_file("x", cache=tmp_path, fetch=lambda url: pytest.fail("downloaded twice")) == b"console.log(1)"
    # A tarball of another hash is refused, and not kept.
    monkeypatch.setitem(NPM, "y", NpmPackage("y", "1.0.0", integrity_of(good), "dist/x.js"))
    with pytest.raises(GeodataError, match="empreinte"):
        npm_file("y", cache=tmp_path, fetch=lambda url: _tarball({"dist/x.js": b"alert(1)"}))
    assert not (tmp_path / "y-1.0.0.tgz").exists()


def test_pinned_npm_packages():
    assert NPM["supercluster"].version == "8.0.1" and NPM["supercluster"].integrity.startswith("sha512-IiOea5")
    assert NPM["axe-core"].integrity.startswith("sha512-")


def test_base_map_is_stable_for_other_maps(reference):
    m = base_map(reference.departements, base="osm")
    html = map_html(m)
    assert "tile.openstreetmap.org" in html and "Départements" not in html.split("<script>")[0]
    assert "fitBounds" in html


def test_client_modes_and_settings(sample, reference):
    with pytest.raises(ValueError, match="mode"):
        client_config(mode="cookie")
    cfg = page_data(page(sample, reference.departements, mode="app", report_email="erreurs@exemple.org", note="Données d'exemple"))["cfg"]
    assert cfg["mode"] == "app" and cfg["reportEmail"] == "erreurs@exemple.org" and cfg["note"] == "Données d'exemple"
    # Every base layer, "Aucun fond" included, is a choice of the client (the map itself carries maxZoom).
    assert [b["key"] for b in cfg["bases"]] == ["plan_ign", "osm", "aucun"] and cfg["bases"][2]["url"] is None


def test_empty_selection_still_renders(sample, reference):
    html = page(sample.iloc[0:0], reference.departements)
    assert page_data(html)["count"] == 0


def test_places_are_communes_with_postcodes(reference):
    places = places_payload(reference.communes, reference.codes_postaux)
    assert len(places) == len(reference.communes)
    by_name = {p[0]: p for p in places}
    toulouse = by_name["Toulouse"]
    assert "31000" in toulouse[1].split() and "31500" in toulouse[1].split()
    assert 43.5 < toulouse[2] < 43.7 and 1.3 < toulouse[3] < 1.6
    assert "L'Union" in by_name


def test_page_template_is_filled(sample, reference):
    html = page(sample, reference.departements)
    assert "__CSTI_" not in html
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"fr\">")
    # The skip link is the first thing a keyboard reaches; every control has a French label.
    body = html[html.index("<body>"):]
    assert re.search(r"<(a|button|input|select)\b", body).group(0) == "<a" and "Aller à la liste des acteurs" in body
    for label in ("Filtres", "Liste", "Autour de moi", "Réinitialiser", "Télécharger la sélection (CSV)", "Précédent", "Suivant", "Trier par"):
        assert label in body, label
    assert 'id="csti-search"' in body and 'for="csti-search"' in body


def test_client_script_builds_no_markup_from_data():
    js = (CLIENT_DIR / "carte.js").read_text(encoding="utf-8")
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js and "eval(" not in js
    assert "textContent" in js
    assert "zoomInTitle: 'Zoom avant'" in js and "zoomOutTitle: 'Zoom arrière'" in js
    assert "maxZoom: 18" in js  # without it, "Aucun fond" breaks the map
    assert "preventScroll: true" in js  # focusing the map must not scroll the page (the first click was lost)
    # The only addresses written in the client: OpenStreetMap's directions and Leaflet's credit link.
    assert set(re.findall(r"https?://[^'\"/]+", js)) == {"https://www.openstreetmap.org", "https://leafletjs.com"}


def test_client_stylesheet_is_phone_first():
    css = (CLIENT_DIR / "carte.css").read_text(encoding="utf-8")
    assert css.count("{") == css.count("}")
    assert "@media (max-width: 699px)" in css and ".csti-panel-card" in css and ".csti-dot::after" in css
    assert "url(" not in css and "@import" not in css  # nothing fetched from elsewhere


def test_commune_outlines_are_light_geojson(reference):
    data = json.loads(communes_outlines_geojson(reference.communes))
    assert len(data["features"]) == len(reference.communes)
    assert set(data["features"][0]["properties"]) == {"code_insee", "nom"}


def test_base_map_scale_is_metric_only():
    html = base_map().get_root().render()
    assert "L.control.scale({imperial: false, metric: true})" in html
    assert html.count("L.control.scale(") == 1  # folium's own (feet and miles) is not added

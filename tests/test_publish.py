"""Static publication: a self-contained folder with public fields only, and the safe CSV."""

from __future__ import annotations

import html as htmlmod
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from cartography.actors_map import page_data
from cartography.assets import CLIENT_DIR
from cartography.publish import public_table, publish_site
from geodata.cli import main
from geodata.directory import load_directory
from geodata.settings import get_settings
from geodata.writers import csv_bytes

HOSTILE = Path(__file__).parent / "fixtures" / "hostile_actors.csv"


@pytest.fixture(scope="module")
def hostile(reference):
    return load_directory(settings=get_settings({"CSTI_ACTORS_FILE": str(HOSTILE)}), reference=reference)


def test_site_is_self_contained(tmp_path, reference):
    actors = load_directory(settings=get_settings(), reference=reference).copy()
    actors.loc[actors.index[:2], "geometry"] = None  # two actors the geocoder could not place
    pub = publish_site(tmp_path / "site", actors, reference.departements, reference.communes)
    site = pub.directory
    assert {p.name for p in site.iterdir()} >= {"index.html", "carte.js", "carte.css", "acteurs.geojson", "acteurs.csv", "communes.geojson", "vendor"}
    html = (site / "index.html").read_text(encoding="utf-8")
    # Every script and stylesheet is a relative file that exists in the folder.
    refs = [r.split("?")[0] for r in re.findall(r'(?:src|href)="([^"]+\.(?:js|css)(?:\?v=[0-9a-f]+)?)"', html)]
    assert len(refs) == 5 and all(not r.startswith(("http", "//", "/")) and (site / r).exists() for r in refs)
    assert "<title>Carte de la culture scientifique en Occitanie</title>" in html
    geo = json.loads((site / "acteurs.geojson").read_text(encoding="utf-8"))
    assert len(geo["features"]) == len(actors) == pub.actors
    assert sum(f["geometry"] is not None for f in geo["features"]) == pub.placed == len(actors) - 2
    # The map's client is a file of the site, loaded by the page; the data is a JSON block the page never executes.
    assert re.search(r'<script src="carte\.js\?v=[0-9a-f]{12}"></script>', html)
    assert (site / "carte.js").read_bytes() == (CLIENT_DIR / "carte.js").read_bytes()
    data = page_data(html)
    assert data["cfg"]["communesUrl"] == "communes.geojson" and data["cfg"]["mode"] == "site" and data["count"] == pub.placed
    # The sample is not the network's directory: the page says so only when asked (the CLI asks for the sample).
    assert data["cfg"]["note"] == ""


def _csp(html: str) -> dict[str, list[str]]:
    content = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html).group(1)
    directives = [d.split() for d in htmlmod.unescape(content).split(";")]
    return {d[0]: d[1:] for d in directives}


def test_site_has_a_content_security_policy(tmp_path, reference, hostile):
    pub = publish_site(tmp_path / "site", hostile, reference.departements, reference.communes)
    html = (pub.directory / "index.html").read_text(encoding="utf-8")
    head = html[: html.index("</head>")]
    # The policy comes before any script or style, else it would not apply to them.
    assert head.index("Content-Security-Policy") < min(head.index("<link"), html.index("<script"))
    csp = _csp(html)
    assert csp["default-src"] == ["'none'"] and csp["connect-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:", "https://data.geopf.fr", "https://tile.openstreetmap.org"]
    assert "'unsafe-inline'" not in csp["script-src"] + csp["style-src"] and "'unsafe-eval'" not in csp["script-src"]
    # No inline script or style block is left in the page: the policy needs no hash, only the site's own files.
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert re.findall(r"<script>|<style>|<script type=\"(?!application/json)", html) == []
    assert "L.map(" not in html and "L.map(" in (pub.directory / "carte.js").read_text(encoding="utf-8")


def test_sample_note(tmp_path, reference):
    from cartography.publish import SAMPLE_NOTE, sample_note

    sample = load_directory(settings=get_settings(), reference=reference)
    assert sample_note(sample, get_settings()) == "Données d'exemple : 124 lieux publics de culture scientifique, pas l'annuaire du réseau"
    assert sample_note(sample, get_settings({"CSTI_ACTORS_FILE": str(HOSTILE)})) == ""
    assert SAMPLE_NOTE.format(n=124) == sample_note(sample, get_settings())


def test_only_public_fields_are_published(tmp_path, reference, hostile):
    pub = publish_site(tmp_path / "site", hostile, reference.departements, reference.communes)
    for f in pub.files:
        text = f.read_text(encoding="utf-8-sig")
        assert "secret1@example.org" not in text and "contact_email" not in text, f.name


def test_csv_defuses_formulas(hostile):
    table = public_table(hostile)
    data = pd.read_csv(io.BytesIO(csv_bytes(table)), sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(data) == len(hostile)
    for value in list(data["nom"]) + list(data["presentation_resume"]):
        assert not value.startswith(("=", "+", "-", "@")), value
    assert "'=HYPERLINK(\"http://evil.example\",\"clic\")" in set(data["nom"])


def test_cli_publish(tmp_path, capsys):
    assert main(["publish", "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "acteurs sur la carte" in out and (tmp_path / "out" / "index.html").exists()
    data = page_data((tmp_path / "out" / "index.html").read_text(encoding="utf-8"))
    assert data["cfg"]["note"].startswith("Données d'exemple : 124 lieux publics") and data["cfg"]["reportEmail"] == get_settings().report_email

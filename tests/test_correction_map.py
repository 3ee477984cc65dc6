"""The correction map: the actor's point and its commune in view, the point clicked on top, every data text escaped."""

import json
import re

import shapely

from cartography.correction_map import COLORS, correction_map, proposed_layer

HOSTILE = "Musée `${alert(1)}` <script>alert(2)</script>"


def _commune(reference, code):
    return reference.communes.loc[reference.communes["code_insee"] == code].iloc[0]


def test_the_map_fits_the_commune_and_escapes_data(reference):
    toulouse = _commune(reference, "31555")
    html = correction_map((1.444, 43.6045), toulouse.geometry, name=HOSTILE, commune="Toulouse <b>").get_root().render()
    assert "<script>alert" not in html and "${alert" not in html and "Toulouse <b>" not in html
    assert "Position actuelle : Musée" in html and COLORS["current"] in html
    fitted = json.loads(re.search(r"fitBounds\(\s*(\[\[.*?\]\])", html, re.DOTALL).group(1))
    west, south, east, north = toulouse.geometry.bounds
    (s, w), (n, e) = fitted
    assert s < south < north < n and w < west < east < e and (n - s) < 1.2 * (north - south)  # the commune, with a margin
    # The outline and the point let clicks through to the map, which sets the new point.
    assert '"interactive": false' in html and '"bubblingMouseEvents": true' in html and "cdn" not in html.lower()


def test_an_unplaced_actor_shows_the_region_and_a_lone_point_its_streets(reference):
    html = correction_map(None, None, name="Sans lieu").get_root().render()
    assert "[[42.33, -0.33], [45.05, 4.85]]" in html.replace("\n", "")
    near = correction_map((1.444, 43.6045), None, name="Point seul").get_root().render()
    fitted = json.loads(re.search(r"fitBounds\(\s*(\[\[.*?\]\])", near, re.DOTALL).group(1))
    assert fitted[1][0] - fitted[0][0] < 0.05  # a few streets around it, not the region


def test_the_point_clicked_is_a_layer_of_its_own(reference):
    blagnac = _commune(reference, "31069")
    group = proposed_layer((1.39, 43.636), blagnac.geometry, commune=HOSTILE)
    m = correction_map((1.444, 43.6045), _commune(reference, "31555").geometry, name="Muséum")
    group.add_to(m)
    html = m.get_root().render()
    assert COLORS["new"] in html and "Nouvelle position" in html and "${alert" not in html and "<script>alert" not in html
    assert shapely.Point(1.39, 43.636).within(blagnac.geometry)

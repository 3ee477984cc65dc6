"""Territory report for elected officials (working group G5): a PDF, and its map as PNG, for the region, a department or an EPCI.

The report reuses one coverage analysis (:func:`geodata.coverage.analyse`, computed on the whole region: an actor
beyond the territory's border reaches its communes all the same) and keeps what concerns the territory: its headline
figures as ranges, its numbered where-next steps, its top tables, the method, the sources with their vintages, the date
and the software version. Every text drawn comes from data as plain text (no markup, no template): a hostile name is
printed as it is.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from fpdf import FPDF
from fpdf.fonts import FontFace
from matplotlib import get_data_path

import geodata
from geodata import coverage as cv
from geodata import coverage_text
from geodata import number_format as nf
from geodata import rural as rural_mod
from geodata.actors import CIRCLES, FAMILIES, shorten, strip_controls
from geodata.errors import GeodataError
from geodata.reference import CRS_METRIC, REGION_CODE, Reference

#: How each kind of territory reads in French.
KINDS = {"region": "région", "departement": "département", "epci": "intercommunalité"}
#: Rows kept in each table of the report (the page and the exports give them all).
TOP_ROWS = 12
#: Longest text of a table cell, and of a name in a title or a source (longer ones are cut, an ellipsis marking the cut).
CELL_CHARS = 60
NAME_CHARS = 120
SOFTWARE = "carte-csti-occitanie"
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre")


# ----------------------------------------------------------------------------- which territory


@dataclass(frozen=True)
class Scope:
    """The territory a report is about: the region, one department or one EPCI (its part in Occitanie)."""

    kind: str  # a key of KINDS
    code: str
    name: str

    @property
    def label(self) -> str:
        if self.kind == "region":
            return f"{self.name} (région)"
        if self.kind == "departement":
            return f"{self.name} ({self.code})"
        return f"{self.name} (EPCI {self.code})"

    @property
    def file_stem(self) -> str:
        """A file name for downloads, from the code only (never from a name)."""
        return f"rapport-couverture-{'occitanie' if self.kind == 'region' else self.code}"


def scopes(reference: Reference) -> dict[str, Scope]:
    """Every territory a report can be made for, by code: the region, its departments (by code), its EPCI (by name)."""
    out = {REGION_CODE: Scope("region", REGION_CODE, "Occitanie")}
    for code, name in sorted(zip(reference.departements["code_departement"], reference.departements["nom"])):
        out[str(code)] = Scope("departement", str(code), shorten(_plain(name), NAME_CHARS))
    if reference.epci is not None:
        for code, name in sorted(zip(reference.epci["code_epci"], reference.epci["nom"]), key=lambda row: str(row[1])):
            out[str(code)] = Scope("epci", str(code), shorten(_plain(name), NAME_CHARS))
    return out


def scope_of(code, reference: Reference) -> Scope:
    """The territory of ``code``: ``76`` (or « occitanie », « région »), a department code (``81``) or an EPCI's SIREN."""
    text = str(code or "").strip()
    if text.lower() in ("occitanie", "region", "région"):
        text = REGION_CODE
    found = scopes(reference).get(text.upper() if text[:1].isdigit() else text)
    if found is None:
        deps = ", ".join(sorted(reference.departements["code_departement"].astype(str)))
        raise GeodataError(
            f"Territoire inconnu : {text!r}. Donnez {REGION_CODE} pour la région Occitanie, le code d'un de ses départements "
            f"({deps}) ou le numéro SIREN à 9 chiffres d'une intercommunalité (EPCI) : `python -m geodata rapport --liste` les "
            "affiche tous, de même que le choix du territoire sur la page « Couverture territoriale »."
        )
    return found


def _masks(scope: Scope, demand: cv.Demand) -> tuple[np.ndarray, np.ndarray | None]:
    """Which communes and which QPV of ``demand`` belong to the territory."""
    c = demand.communes
    q = demand.qpv
    if scope.kind == "region":
        return np.ones(len(c), dtype=bool), None if q is None else np.ones(len(q), dtype=bool)
    column = "code_departement" if scope.kind == "departement" else "code_epci"
    inside = (c[column].astype(str) == scope.code).to_numpy()
    if q is None:
        return inside, None
    if column in q.columns:
        return inside, (q[column].astype(str) == scope.code).to_numpy()
    return inside, np.zeros(len(q), dtype=bool)


def _outline(scope: Scope, demand: cv.Demand, inside: np.ndarray):
    """The territory's outline in EPSG:2154 (the department's own, else the union of its communes)."""
    if scope.kind == "departement":
        deps = demand.departements
        geom = deps.loc[deps["code_departement"] == scope.code].to_crs(CRS_METRIC).geometry
        return geom.iloc[0]
    if scope.kind == "region":
        return shapely.union_all(shapely.simplify(demand.departements.to_crs(CRS_METRIC).geometry.to_numpy(), 20.0))
    return shapely.union_all(demand.commune_hulls()[0][inside])


# ----------------------------------------------------------------------------- what the report says


@dataclass(frozen=True)
class Table:
    """One table of the report: a title, a caption and its cells as text (French headers, French numbers)."""

    title: str
    caption: str
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]


@dataclass(frozen=True)
class TerritoryReport:
    """Everything a territory report shows; :func:`report_pdf` and :func:`cartography.report_map.territory_png` draw it."""

    scope: Scope
    analysis: cv.Analysis
    communes_mask: np.ndarray
    qpv_mask: np.ndarray | None
    outline_metric: object
    summary: dict
    steps: pd.DataFrame
    n_actors_inside: int
    tables: list[Table]
    method: list[str]
    parameters: list[tuple[str, str]]
    sources: list[tuple[str, str]]
    generated: dt.date
    version: str = geodata.__version__
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"Couverture territoriale : {self.scope.label}"

    @property
    def subtitle(self) -> str:
        return (
            "Culture scientifique, technique et industrielle en Occitanie · groupe de travail G5 · "
            f"rapport du {french_date(self.generated)}"
        )

    @property
    def map_credits(self) -> str:
        """The one line under the map: sources with vintages, date, software version."""
        sources = " ; ".join(f"{label} : {text}" for label, text in self.sources if label != "Calcul")
        return _plain(f"Sources : {sources}. Carte du {french_date(self.generated)}, {SOFTWARE} {self.version}.")


def french_date(day: dt.date) -> str:
    """« 2 décembre 2026 » (« 1er » for the first of a month).

    >>> french_date(dt.date(2026, 12, 1))
    '1er décembre 2026'
    """
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


def _plain(value) -> str:
    """Data as one line of plain text: no control character, no line break (a table cell, a title)."""
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return " ".join(strip_controls(text).split())


def _cell(value) -> str:
    return shorten(_plain(value), CELL_CHARS)


def _table(
    title: str, caption: str, name: str, layer, params: cv.Params, columns: list[str] | None = None, *, total: str | None = None
) -> Table:
    """A table of :mod:`geodata.coverage_text` (its headers, order and number format), first :data:`TOP_ROWS` rows."""
    frame, cols = coverage_text.table_for_officials(name, layer, params)
    if columns is not None:
        cols = {c: cols[c] for c in columns if c in cols}
    formats = coverage_text.display_format(cols)
    body, last = (frame.iloc[:-1], frame.iloc[-1:]) if total is not None else (frame, frame.iloc[:0])
    shown = body.head(TOP_ROWS)
    if len(body) > TOP_ROWS:
        caption += f" Les {TOP_ROWS} premières lignes sur {nf.integer(len(body))} (toutes dans les exports de la page)."
    rows = []
    for _, row in pd.concat([shown, last]).iterrows():
        rows.append([_cell(formats[c](row[c]) if c in formats and pd.notna(row[c]) else row[c]) for c in cols])
    if total is not None and rows:
        rows[-1][0] = total
    numeric = [kind in ("int", "km", "pct", "deg") for _, _, kind in cols.values()]
    return Table(title, caption, [label for label, _, _ in cols.values()], rows, numeric)


def _territory_steps(analysis: cv.Analysis, inside: np.ndarray, qpv_inside: np.ndarray | None, k: int) -> pd.DataFrame:
    """Where next inside the territory: only its communes are proposed, only its people count.

    Places beyond the territory are taken as already served, so that each step's gain is the territory's own.
    """
    c, q = analysis.coverage.communes, analysis.coverage.qpv
    local = cv.Coverage(
        analysis.params,
        c.assign(rurale=c["rurale"].to_numpy() & inside),
        None if q is None else q.assign(a_portee=q["a_portee"].to_numpy() | ~qpv_inside),
        analysis.coverage.n_sites,
        analysis.coverage.n_hypothetical,
        analysis.coverage.n_commune_level,
    )
    return cv.where_next(analysis.demand, local, k, candidates=inside)


def _selection_text(values, labels: dict | None = None, *, everyone: str) -> str:
    if not values:
        return everyone
    return ", ".join(str(labels.get(v, v)) if labels else str(v) for v in values)


def _parameters(params: cv.Params, k: int) -> list[tuple[str, str]]:
    """The settings of the analysis, as the coverage page names them."""
    rows = [
        ("Portée pour les communes rurales", nf.km(params.rural_reach_km)),
        ("Facteur de détour", nf.short(params.detour_factor)),
        ("Définition du rural", rural_mod.DEFINITIONS[params.rural_definition].label),
        ("Cercles comptés", _selection_text(params.circles, everyone=f"tous ({', '.join(map(str, CIRCLES))} et sans cercle)")),
        ("Types de structure comptés", _selection_text(params.types, everyone="tous")),
        ("Familles comptées", _selection_text(params.families, FAMILIES, everyone="toutes")),
        ("Où agir ensuite : sites proposés (K)", nf.integer(k)),
    ]
    rows.insert(1, ("Portée pour les QPV", nf.km(params.qpv_reach_km)))
    rows.append(("Poids des QPV face au rural", nf.short(params.qpv_weight)))
    return rows


def _sources(analysis: cv.Analysis, reference: Reference, directory_label: str, generated: dt.date, version: str) -> list[tuple[str, str]]:
    """Every data set the figures rest on, with its vintage."""
    demand, params = analysis.demand, analysis.params
    definition = rural_mod.DEFINITIONS[params.rural_definition]
    rows = [
        ("Communes, départements, EPCI", str(reference.meta.get("source", ""))),
        ("Population", reference.population_label),
        (
            "Rural",
            definition.label + ("" if definition.official else ", calculée par la carte à partir des populations et superficies ci-dessus"),
        ),
    ]
    if demand.has_qpv:
        gens = ", ".join(sorted(demand.qpv["generation"].astype(str).unique()))
        known = int(demand.qpv["population"].notna().sum())
        rows.append(
            (
                "Quartiers prioritaires",
                f"QPV génération {gens} (ANCT), {nf.integer(len(demand.qpv))} quartiers ; population INSEE connue pour {nf.integer(known)}",
            )
        )
    else:
        rows.append(("Quartiers prioritaires", "couche non chargée : seule la partie rurale est calculée"))
    counted = analysis.counted
    latest = ""
    if "date_maj" in counted.columns:
        dates = pd.to_datetime(counted["date_maj"], errors="coerce", format="mixed").dropna()
        if len(dates):
            latest = f", fiches mises à jour jusqu'au {french_date(dates.max().date())}"
    rows.append(("Acteurs", f"{shorten(_plain(directory_label), NAME_CHARS)} : {nf.integer(len(counted))} acteurs comptés dans la région{latest}"))
    rows.append(("Calcul", f"{SOFTWARE} {version}, le {french_date(generated)}"))
    return rows


def territory_report(
    analysis: cv.Analysis,
    reference: Reference,
    territory,
    *,
    k: int = 10,
    directory_label: str = "annuaire",
    today: dt.date | None = None,
) -> TerritoryReport:
    """The report of one territory from a coverage analysis of the region.

    Parameters
    ----------
    analysis
        From :func:`geodata.coverage.analyse`, with the parameters the user chose (the page's, or the command line's).
    reference
        The reference geography the analysis used (sources and vintages, the list of territories).
    territory
        A :class:`Scope`, or a code for :func:`scope_of` (``76``, ``81``, an EPCI's SIREN).
    k
        Number of where-next steps proposed inside the territory.
    directory_label
        Where the directory comes from (:func:`geodata.directory.directory_source`).
    """
    scope = territory if isinstance(territory, Scope) else scope_of(territory, reference)
    demand, params, result = analysis.demand, analysis.params, analysis.coverage
    inside, qpv_inside = _masks(scope, demand)
    local = cv.Coverage(
        params,
        result.communes[inside],
        None if result.qpv is None else result.qpv[qpv_inside],
        result.n_sites,
        result.n_hypothetical,
        result.n_commune_level,
    )
    summary = local.summary()
    steps = analysis.steps if scope.kind == "region" else _territory_steps(analysis, inside, qpv_inside, k)
    counted = analysis.counted
    if scope.kind == "region":
        n_inside = len(counted)
    else:
        column = "code_departement" if scope.kind == "departement" else "code_epci"
        n_inside = int((counted[column].astype(str) == scope.code).sum()) if column in counted.columns else 0

    tables = [
        _table(
            "Où agir ensuite",
            "Communes du territoire dont le point mettrait à portée le plus d'habitants du territoire encore hors de "
            "portée, étape après étape (chaque étape tient compte des précédentes) ; le n° d'étape est celui de la carte.",
            "ou_agir",
            steps,
            params,
            ["etape", "nom", "nom_epci", "gain_population_rurale", "gain_population_qpv", "cumul_population_rurale", "cumul_population_qpv"]
            if demand.has_qpv
            else ["etape", "nom", "nom_epci", "gain_population_rurale", "gain_communes_rurales", "cumul_population_rurale"],
        ),
    ]
    gaps = cv.rural_gaps(local)
    tables.append(
        _table(
            "Communes rurales hors de portée",
            "Les plus peuplées d'abord, d'après le point de chaque acteur ; le verdict et "
            "les distances tiennent compte des acteurs placés seulement à leur commune.",
            "communes_rurales_hors_portee",
            gaps,
            params,
            ["nom", "nom_epci", "population", "distance_min_km", "distance_max_km", "portee"],
        )
    )
    if local.qpv is not None:
        q = local.qpv[local.qpv["portee"] != cv.REACHED]
        tables.append(
            _table(
                "Quartiers prioritaires hors de portée ou incertains",
                "Hors de portée d'abord, puis incertains ; les plus peuplés d'abord.",
                "qpv",
                q,
                params,
                ["nom_qp", "communes", "population", "portee", "distance_min_km", "distance_max_km", "nb_acteurs_dedans"],
            )
        )
    unit_columns = [
        "nom",
        "communes_rurales_hors_portee",
        "population_rurale_hors_portee_min",
        "population_rurale_hors_portee_max",
        "part_population_rurale_a_portee",
        "qpv_hors_portee",
    ]
    if scope.kind == "region":
        tables.append(
            _table(
                "Par département",
                "Classés par habitants ruraux hors de portée ; la dernière ligne est la région.",
                "departements",
                analysis.layers["departements"],
                params,
                unit_columns,
                total="Occitanie",
            )
        )
    elif scope.kind == "departement" and demand.epci is not None and "code_epci" in local.communes.columns:
        by_epci = local.by_epci(demand.epci)
        present = set(local.communes["code_epci"].dropna().astype(str))
        body = by_epci.iloc[:-1]
        frame = pd.concat([body[body["code_epci"].astype(str).isin(present)], by_epci.iloc[-1:]])
        tables.append(
            _table(
                "Par intercommunalité",
                "Partie de chaque intercommunalité dans le territoire, classée par habitants ruraux "
                "hors de portée ; la dernière ligne est le territoire.",
                "epci",
                frame,
                params,
                unit_columns,
                total=scope.name,
            )
        )
    n_all = len(counted)
    method = [
        "Calcul sur toute la région : un acteur situé hors du territoire compte pour les communes et les quartiers du territoire "
        "qu'il atteint.",
        *coverage_text.method_notes(demand, params, result),
        coverage_text.precision_note(n_all, result.n_commune_level),
        "Où agir ensuite : recherche gloutonne de couverture maximale parmi les communes du territoire ; "
        + coverage_text.table_for_officials("ou_agir", steps, params)[1]["gain_score"][1],
    ]
    if result.n_hypothetical:
        method.insert(
            1, f"Les chiffres comptent {nf.integer(result.n_hypothetical)} site(s) hypothétique(s) ajouté(s) sur la page (« Et si… »)."
        )
    generated = today or dt.date.today()
    return TerritoryReport(
        scope=scope,
        analysis=analysis,
        communes_mask=inside,
        qpv_mask=qpv_inside,
        outline_metric=_outline(scope, demand, inside),
        summary=summary,
        steps=steps,
        n_actors_inside=n_inside,
        tables=tables,
        method=method,
        parameters=_parameters(params, k),
        sources=_sources(analysis, reference, directory_label, generated, geodata.__version__),
        generated=generated,
    )


# ----------------------------------------------------------------------------- the PDF


def _font_path(name: str) -> str:
    """A DejaVu font shipped with matplotlib (found where it is installed, never copied)."""
    return f"{get_data_path()}/fonts/ttf/{name}"


class _Pdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font("DejaVu", "", 7)
        self.set_text_color(80)
        self.cell(0, 5, f"{self.footer_text} · page {self.page_no()}", align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.set_text_color(0)
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")


def _paragraph(pdf: FPDF, text: str, *, size: float = 8.5, bullet: bool = False) -> None:
    pdf.set_font("DejaVu", "", size)
    pdf.set_text_color(30)
    pdf.multi_cell(0, size * 0.48, ("• " if bullet else "") + text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(0.8)


def _draw_table(pdf: FPDF, table: Table) -> None:
    _heading(pdf, table.title)
    _paragraph(pdf, table.caption, size=7.5)
    if not table.rows:
        _paragraph(pdf, "Aucune ligne : rien à signaler ici avec ces réglages.", size=8)
        return
    text_cols = [not n for n in table.numeric]
    # Text columns share what the numbers leave (numbers get a fixed width).
    widths = [1.0 if text else 0.62 for text in text_cols]
    pdf.set_font("DejaVu", "", 7)
    pdf.set_text_color(0)
    headings = FontFace(emphasis="B", fill_color=(225, 225, 225))
    with pdf.table(
        col_widths=widths,
        text_align=["RIGHT" if n else "LEFT" for n in table.numeric],
        headings_style=headings,
        borders_layout="HORIZONTAL_LINES",
        line_height=3.6,
        padding=0.8,
        width=pdf.epw,
    ) as t:
        header = t.row()
        for h in table.headers:
            header.cell(h)
        for cells in table.rows:
            row = t.row()
            for value in cells:
                row.cell(value)
    pdf.ln(2)


def _headline_block(pdf: FPDF, report: TerritoryReport) -> None:
    s = report.summary
    groups = ["rural", "qpv"] if "qpv" in s else ["rural"]
    pdf.set_font("DejaVu", "", 8)
    with pdf.table(
        col_widths=(1.25, 1.15, 0.9),
        text_align=("LEFT", "RIGHT", "RIGHT"),
        borders_layout="HORIZONTAL_LINES",
        headings_style=FontFace(emphasis="B", fill_color=(225, 225, 225)),
        line_height=4.2,
        padding=0.8,
    ) as t:
        header = t.row()
        for h in ("Chiffre clé", "Fourchette", "D'après le point de chaque acteur"):
            header.cell(h)
        for group in groups:
            for label, key, total in coverage_text.HEADLINES[group]:
                value, point = coverage_text.headline_figure(s, key, total)
                row = t.row()
                row.cell(label)
                row.cell(value, style=FontFace(emphasis="B"))
                row.cell(point)
    if "qpv" not in s:
        _paragraph(pdf, coverage_text.QPV_MISSING, size=7.5)


def report_pdf(report: TerritoryReport, *, map_png: bytes | None = None) -> bytes:
    """The report as PDF bytes (A4, DejaVu fonts, readable in black and white)."""
    from cartography.report_map import territory_png

    pdf = _Pdf(format="A4", unit="mm")
    pdf.alias_nb_pages("")  # no alias: a name holding « {nb} » is printed as it is
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_font("DejaVu", "", _font_path("DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", _font_path("DejaVuSans-Bold.ttf"))
    pdf.set_title(report.title)
    pdf.set_author(SOFTWARE)
    pdf.set_creator(f"{SOFTWARE} {report.version}")
    pdf.set_lang("fr")
    pdf.footer_text = f"{shorten(report.title, 90)} · {french_date(report.generated)} · {SOFTWARE} {report.version}"
    pdf.add_page()

    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(0, 7, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8.5)
    pdf.set_text_color(60)
    pdf.multi_cell(0, 4.5, report.subtitle, new_x="LMARGIN", new_y="NEXT")
    s = report.summary
    where = "dans la région" if report.scope.kind == "region" else "dans le territoire"
    _paragraph(
        pdf,
        f"{nf.integer(report.n_actors_inside)} acteurs comptés {where} ; {nf.integer(s['communes_rurales'])} communes rurales "
        f"({nf.integer(s['population_rurale'])} habitants)" + (f", {nf.integer(s['qpv'])} quartiers prioritaires." if "qpv" in s else "."),
        size=8.5,
    )
    _headline_block(pdf, report)
    pdf.ln(1)
    _paragraph(pdf, coverage_text.precision_note(len(report.analysis.counted), report.analysis.coverage.n_commune_level), size=7.2)
    png = map_png if map_png is not None else territory_png(report, titled=False)
    if pdf.get_y() > 95:
        pdf.add_page()
    pdf.image(io.BytesIO(png), x=pdf.l_margin, w=pdf.epw, alt_text=f"Carte : {report.title}")

    pdf.add_page()
    for table in report.tables:
        _draw_table(pdf, table)
    _heading(pdf, "Méthode")
    for note in report.method:
        _paragraph(pdf, note, size=7.8, bullet=True)
    _heading(pdf, "Réglages de l'analyse")
    _pairs(pdf, report.parameters, ("Réglage", "Valeur"))
    _heading(pdf, "Sources et millésimes")
    _pairs(pdf, report.sources, ("Donnée", "Source et millésime"))
    return bytes(pdf.output())


def _pairs(pdf: FPDF, rows: list[tuple[str, str]], headers: tuple[str, str]) -> None:
    pdf.set_font("DejaVu", "", 7.5)
    pdf.set_text_color(0)
    with pdf.table(
        col_widths=(0.9, 2.6),
        text_align=("LEFT", "LEFT"),
        borders_layout="HORIZONTAL_LINES",
        line_height=3.8,
        padding=0.8,
        headings_style=FontFace(emphasis="B", fill_color=(225, 225, 225)),
    ) as t:
        header = t.row()
        for h in headers:
            header.cell(h)
        for label, text in rows:
            row = t.row()
            row.cell(label)
            row.cell(_plain(text))
    pdf.ln(2)

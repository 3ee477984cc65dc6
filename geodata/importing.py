"""Import of actor files (CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile): column mapping, validation report, rejected rows."""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geodata import zones
from geodata.actors import (
    CONTROL_CHARACTERS,
    EMAIL,
    FIELD_NAMES,
    FIELDS,
    FIELDS_BY_NAME,
    SURVEY_STATUSES,
    TYPES,
    WEB_ADDRESS,
    shorten,
    strip_controls,
)
from geodata.errors import DataFileError
from geodata.gazetteer import clean_postcode, normalise_name
from geodata.reference import Reference
from geodata.region import OUTSIDE, outside_reasons, where_points
from geodata.writers import csv_bytes

#: Extra column kept beside the schema: the department the file declares (checked against placement).
DECLARED_DEPARTMENT = "departement_declare"
#: Extra column kept beside the schema: the region the file declares (the region rule sets other regions aside).
DECLARED_REGION = "region_declaree"
#: Labels of the extra columns, for messages.
_EXTRA_LABELS = {DECLARED_DEPARTMENT: "Département", DECLARED_REGION: "Région"}
#: Fields a file may fill, in the order shown in a mapping screen.
TARGETS = (*FIELD_NAMES, DECLARED_DEPARTMENT, DECLARED_REGION)
#: Column holding the row number as the user sees it in the file (header = line 1 for tables).
ROW = "ligne"
GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")
TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")

# Headers seen in survey exports, normalised with _norm_header (lower case, no accents, words).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "identifiant", "identifiant museofile", "numero national de structure", "ref", "reference", "code structure"),
    "nom": (
        "nom", "nom de la structure", "nom structure", "structure", "name", "nom officiel du musee", "nom officiel",
        "raison sociale", "organisation", "organization", "organisme", "etablissement", "libelle", "denomination", "nom du lieu",
    ),
    "type_structure": ("type de structure", "type structure", "type", "categorie", "category", "type d acteur", "nature", "type de structure principale"),
    "cercle": ("cercle", "circle", "cercle csti"),
    "types_action": ("types d action", "type d action", "types action", "actions", "activites", "activities", "type d actions"),
    "thematiques": ("thematiques", "thematique", "themes", "theme", "topics", "domaine scientifique", "domaines"),
    "adresse": ("adresse", "address", "adresse postale", "rue", "voie", "street", "adresse 1", "adresse ligne 1", "numero et voie"),
    "complement_adresse": ("complement d adresse", "complement adresse", "complement", "adresse 2", "adresse ligne 2", "address 2", "lieu", "lieu dit", "batiment"),
    "code_postal": ("code postal", "cp", "postcode", "postal code", "zip", "zip code", "code postale"),
    "commune": ("commune", "ville", "city", "town", "localite", "municipality", "nom de la commune", "nom commune"),
    "code_insee": ("code insee", "insee", "code commune", "code insee commune", "citycode", "cog", "code commune insee", "depcom", "codgeo"),
    "latitude": ("latitude", "lat", "y", "coord y"),
    "longitude": ("longitude", "lon", "lng", "long", "x", "coord x"),
    "source_position": ("source de la position", "source position", "source des coordonnees", "source coordonnees", "origine des coordonnees"),
    "site_web": ("site web", "site internet", "site", "url", "website", "web", "lien"),
    "presentation_resume": ("presentation courte", "presentation", "resume", "description", "description courte", "summary"),
    "presentation_detail": ("presentation detaillee", "description longue", "description detaillee", "details"),
    "date_maj": ("date de mise a jour", "date maj", "mise a jour", "updated", "last update", "date"),
    "source": ("source", "origine", "provenance"),
    "zone_intervention": ("zone d intervention", "zones d intervention", "zone intervention", "territoire d intervention",
                          "territoires d intervention", "communes desservies", "itinerance", "zone itinerance"),
    "statut_enquete": ("statut de l enquete", "statut enquete", "statut", "status"),
    "contact_nom": ("personne contact", "contact", "nom du contact", "contact nom", "referent", "contact name", "interlocuteur"),
    "contact_email": ("courriel", "email", "e mail", "mail", "adresse electronique", "adresse mail", "contact email"),
    "contact_telephone": ("telephone", "tel", "phone", "telephone contact", "numero de telephone"),
    DECLARED_DEPARTMENT: ("departement", "department", "dep", "code departement", "dept", "num departement"),
    DECLARED_REGION: ("region", "region administrative", "nom region", "code region", "nom de la region", "libelle region", "reg"),
}

# Spelling variants of structure types, normalised.
_TYPE_SYNONYMS = {
    "musee": "musée/centre de sciences", "museum": "musée/centre de sciences", "centre de sciences": "musée/centre de sciences",
    "centre de culture scientifique": "musée/centre de sciences", "ccsti": "musée/centre de sciences", "planetarium": "musée/centre de sciences",
    "fablab": "Fab Lab", "fab lab": "Fab Lab", "tiers lieu": "Fab Lab", "makerspace": "Fab Lab",
    "laboratoire": "laboratoire/université", "universite": "laboratoire/université", "laboratoire universite": "laboratoire/université",
    "unite de recherche": "laboratoire/université", "organisme de recherche": "laboratoire/université",
    "ecole": "établissement scolaire", "college": "établissement scolaire", "lycee": "établissement scolaire", "etablissement scolaire": "établissement scolaire",
    "mediatheque": "bibliothèque", "bibliotheque": "bibliothèque", "asso": "association", "association": "association",
    "tourisme scientifique": "site de tourisme scientifique", "site de tourisme scientifique": "site de tourisme scientifique",
    "mairie": "collectivité", "collectivite": "collectivité", "commune": "collectivité", "entreprise": "entreprise", "societe": "entreprise",
    "media": "média", "centre de loisirs": "centre de loisirs", "autre": "autre",
}
for _t in TYPES:
    _TYPE_SYNONYMS.setdefault(re.sub(r"[^a-z0-9]+", " ", unicodedata.normalize("NFKD", _t).encode("ascii", "ignore").decode().lower()).strip(), _t)

_POSTCODE = FIELDS_BY_NAME["code_postal"].rule


def _norm_header(text) -> str:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


_LOOKUP: dict[str, str] = {}
for _target, _names in _SYNONYMS.items():
    for _n in _names:
        _LOOKUP.setdefault(_n, _target)
for _f in FIELDS:
    _LOOKUP.setdefault(_norm_header(_f.name), _f.name)
    _LOOKUP.setdefault(_norm_header(_f.label), _f.name)
for _name in TARGETS:  # a Shapefile's DBF cuts field names to 10 characters: "code_posta"
    _LOOKUP.setdefault(_norm_header(_name[:10]), _name)


@dataclass
class ImportResult:
    """What an import produced: accepted actors, rejected rows and every remark, row by row."""

    actors: pd.DataFrame
    rejected: pd.DataFrame
    report: pd.DataFrame
    mapping: dict[str, str]
    unmapped: list[str] = field(default_factory=list)
    source_name: str = ""
    #: Sheets of the workbook or layers of the GeoPackage, and the one read (empty for other formats).
    parts: list[str] = field(default_factory=list)
    part: str | None = None
    part_kind: str = "feuille"

    @property
    def summary(self) -> str:
        warnings = int((self.report["gravite"] == "avertissement").sum()) if len(self.report) else 0
        where = f"{self.part_kind.capitalize()} « {self.part} » (sur {len(self.parts)}) : " if len(self.parts) > 1 else ""
        outside = int(self.outside.sum())
        aside = f"{len(self.rejected) - outside} lignes rejetées, {outside} lignes {OUTSIDE} écartées" if outside else f"{len(self.rejected)} lignes rejetées"
        return f"{where}{len(self.actors)} acteurs retenus, {aside}, {warnings} avertissements."

    @property
    def outside(self) -> pd.Series:
        """Which rejected rows were set aside by the region rule (the others break a rule of the schema)."""
        if "motif" not in self.rejected or self.rejected.empty:
            return pd.Series(False, index=self.rejected.index)
        return self.rejected["motif"].fillna("").str.startswith(OUTSIDE)

    @property
    def rows(self) -> int:
        """Rows read from the file: every one is either an actor or a rejected row."""
        return len(self.actors) + len(self.rejected)


# -- reading -------------------------------------------------------------------------------------

#: Byte-order marks, longest first (a UTF-32-LE mark starts like a UTF-16-LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_RESAVE = "Réenregistrez-le en « CSV UTF-8 » (Excel : Fichier > Enregistrer sous > CSV UTF-8 ; LibreOffice : jeu de caractères Unicode UTF-8)."
#: Excel's first line naming the separator: ``sep=;``.
_SEP_LINE = re.compile(r'\A"?sep=([^\r\n"])"?[^\S\r\n]*(?:\r\n|\n|\r|\Z)', re.IGNORECASE)
_SEPARATORS = (";", ",", "\t", "|")
#: Rows searched for the header, in a sheet or a CSV (title lines may come first).
_HEADER_SEARCH = 10


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """``(text, encoding read)``: a byte-order mark wins; UTF-16/32 without one is recognised by its NUL bytes."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), label
            except UnicodeDecodeError as exc:
                raise DataFileError(
                    f"Le fichier {name!r} commence par la marque d'encodage {label} mais n'est pas du {label} valide "
                    f"(octet n° {exc.start + 1}). {_RESAVE}"
                ) from None
    sample = data[:4000]
    if sample.count(0) > len(sample) // 4:  # text in UTF-16/32 is full of NUL bytes, other encodings are not
        for codec, label in (("utf-32-le", "UTF-32"), ("utf-32-be", "UTF-32"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16")):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                continue
            head = text[:2000]
            if ("\n" in head or "\r" in head) and head.count("\0") * 100 < len(head):  # it reads as lines of text
                return text, f"{label} sans marque d'ordre"
        raise DataFileError(
            f"Le fichier {name!r} contient beaucoup d'octets nuls : il semble encodé en UTF-16 ou UTF-32 sans marque d'ordre, "
            f"ou ce n'est pas un fichier texte. {_RESAVE}"
        )
    for codec, label in (("utf-8", "UTF-8"), ("cp1252", "Windows-1252")):
        try:
            return data.decode(codec), label
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "ISO-8859-1"  # never fails: every byte is a character


def _head(text: str, sep: str, n: int = 2 * _HEADER_SEARCH) -> list[list[str]]:
    """The first ``n`` records of ``text`` split on ``sep`` (quotes honoured)."""
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        rows.extend(itertools.islice(reader, n))
    except csv.Error:  # e.g. a field longer than the csv module's limit: judge on the records read before it
        pass
    return rows


def _sniff_sep(text: str) -> str:
    """The separator under which a header row names the most known columns; else the commonest on the first line."""
    scores = {}
    for sep in _SEPARATORS:
        rows = _head(text, sep)
        width = max(map(len, rows), default=0)
        pos = _header_position(pd.DataFrame([r + [None] * (width - len(r)) for r in rows])) if rows else None
        scores[sep] = 0 if pos is None else sum(_norm_header(v) in _LOOKUP for v in rows[pos])
    best = max(scores, key=scores.get)
    if scores[best]:
        return best
    first = text.split("\n", 1)[0]
    counts = {sep: first.count(sep) for sep in _SEPARATORS}
    return max(counts, key=counts.get) if max(counts.values()) else ","


def _read_csv(data: bytes, name: str) -> pd.DataFrame:
    text, encoding = _decode(data, name)
    if not text.strip():
        raise DataFileError(f"Le fichier {name!r} est vide : exportez l'enquête avec sa ligne d'en-tête et au moins une ligne.")
    skipped = 0
    hint = _SEP_LINE.match(text)
    if hint:  # Excel writes "sep=;" as a first line: it names the separator and is not the header
        sep, text, skipped = hint.group(1), text[hint.end() :], 1
    else:
        sep = _sniff_sep(text)
    width = max((len(r) for r in _head(text, sep)), default=0) or None
    # The parser reads UTF-8 bytes: a StringIO of the text would hold it again at four bytes per character.
    buffer = io.BytesIO(text.encode("utf-8"))
    del text
    try:
        grid = pd.read_csv(buffer, sep=sep, header=None, names=range(width) if width else None, dtype=str, encoding="utf-8",
                           keep_default_na=False, skip_blank_lines=False, skipinitialspace=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        where = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        detail = (f"ligne {int(where.group(2)) + skipped} : {where.group(3)} cellules pour {where.group(1)} colonnes"
                  if where else "lecture impossible")
        raise DataFileError(
            f"Le fichier {name!r} n'est pas un CSV lisible ({detail} ; séparateur « {sep} », encodage {encoding}). "
            "Vérifiez le séparateur (« ; » ou « , ») et les guillemets."
        ) from exc
    table, _ = _table_from_grid(grid, first_row=1 + skipped)
    table.attrs["encoding"] = encoding
    return table


def _table_from_grid(grid: pd.DataFrame, *, first_row: int) -> tuple[pd.DataFrame, list[int]]:
    """Header and rows of a grid of cells (a sheet, a CSV read without header), as the user sees them.

    The header is the first of the first rows that names a known column (title lines may come
    above it), else the first row; blank rows and columns are left out. Row ``i`` of ``grid`` is
    row ``first_row + i`` of the file: column ``__ligne`` keeps that number for every row.
    Duplicated column names are made unique and reported in ``attrs["remarques"]``. Also returns the
    position in ``grid`` (from 1) of each column of the table.
    """
    cells = grid.fillna("").astype(str)
    cells.columns = range(cells.shape[1])
    blank = cells.apply(lambda c: c.str.strip() == "")
    raw = cells.loc[~blank.all(axis=1), ~blank.all(axis=0)]
    if raw.empty:
        table = pd.DataFrame({"__ligne": pd.Series(dtype="int64")})
        table.attrs.update(first_row=first_row + 1, remarques=[])
        return table, []
    head = raw.iloc[:_HEADER_SEARCH]  # the header is looked for in the first rows only
    pos = _header_position(head.where(head.apply(lambda c: c.str.strip() != ""))) or 0
    header_row = int(raw.index[pos]) + first_row
    names = [strip_controls(v).strip() or f"colonne_{c + 1}" for c, v in zip(raw.columns, raw.iloc[pos])]
    positions = [int(c) + 1 for c in raw.columns]
    header, remarks = _unique_header(names, positions, header_row)
    body = raw.iloc[pos + 1 :]
    for c, v in zip(raw.columns, raw.iloc[pos]):
        if not strip_controls(v).strip():  # cells under no header: a stray separator, or a column someone forgot to name
            filled = [int(i) + first_row for i in body.index[body[c].str.strip() != ""]]
            where = ", ".join(map(str, filled[:5])) + (", …" if len(filled) > 5 else "")
            remarks.append(_remark(header_row, f"colonne_{c + 1}", f"lignes {where}",
                                   f"colonne {c + 1} sans en-tête mais remplie (lignes {where}) : nommée « colonne_{c + 1} », non importée",
                                   "donnez-lui un en-tête, ou vérifiez le séparateur et les guillemets des lignes citées"))
    # The columns as they are (no object array of every cell: at 200,000 rows that copy was most of the import's memory).
    table = body.set_axis(header, axis=1).reset_index(drop=True) if len(body) else pd.DataFrame(columns=header, dtype=str)
    table["__ligne"] = (body.index.to_numpy(dtype="int64") + first_row) if len(body) else pd.Series(dtype="int64")
    table.attrs.update(first_row=header_row + 1, remarques=remarks)
    return table, positions


def _unique_header(names: list[str], positions: list[int], header_row: int) -> tuple[list[str], list[dict]]:
    """Column names made unique ("nom (colonne 5)") and one remark per name given twice or more.

    Names are compared as the automatic mapping reads them ("Nom" and "NOM " are the same column).
    """
    groups: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        groups.setdefault(_norm_header(n) or n, []).append(i)
    out, remarks = list(names), []
    for members in groups.values():
        if len(members) < 2:
            continue
        for i in members[1:]:
            out[i] = f"{names[i]} (colonne {positions[i]})"
        cols = [str(positions[i]) for i in members]
        listed = ", ".join(cols[:-1]) + " et " + cols[-1]
        target = _LOOKUP.get(_norm_header(names[members[0]]))
        reads = (f"seule la colonne {cols[0]} est lue pour le champ {target!r}" if target
                 else f"la colonne {cols[0]} garde ce nom, les autres sont renommées")
        remarks.append(_remark(header_row, names[members[0]], f"colonnes {listed}",
                               f"colonne « {names[members[0]]} » en double (colonnes {listed}) : {reads}",
                               "renommez ou supprimez les colonnes en trop, ou choisissez la bonne dans la correspondance des colonnes"))
    return out, remarks


def _remark(row: int, column: str, value: str, reason: str, fix: str, level: str = "avertissement") -> dict:
    return {ROW: int(row), "champ": column, "valeur": value, "gravite": level, "motif": reason, "correction": fix}


def _zip_members(data: bytes) -> list[str] | None:
    """Names inside a zip archive, or None when ``data`` is not a readable zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _is_workbook(members: list[str]) -> bool:
    return "[Content_Types].xml" in members or any(m.startswith("xl/") for m in members)


def _read_xlsx(data: bytes, name: str, sheet: str | None = None) -> pd.DataFrame:
    """Read one sheet of a workbook: ``sheet``, else the first whose header names a known column."""
    try:
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, header=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types on a damaged file
        raise DataFileError(f"Le classeur {name!r} est illisible ({type(exc).__name__}). Réenregistrez-le au format .xlsx.") from exc
    names = list(sheets)
    if sheet is not None and sheet not in sheets:
        raise DataFileError(f"Le classeur {name!r} n'a pas de feuille {sheet!r}. Feuilles : {names!r}.")
    cleaned = {n: t.dropna(how="all").dropna(axis=1, how="all") for n, t in sheets.items()}
    if sheet is None:
        headers = {n: _header_position(t) for n, t in cleaned.items()}
        candidates = [n for n in names if headers[n] is not None] or [n for n in names if not cleaned[n].empty] or names[:1]
        sheet = candidates[0]
    if cleaned[sheet].empty:
        if len(names) == 1:
            raise DataFileError(f"Le classeur {name!r} est vide : sa feuille doit contenir l'en-tête et les lignes.")
        raise DataFileError(f"La feuille {sheet!r} du classeur {name!r} est vide : choisissez celle qui contient l'en-tête et les lignes (feuilles : {names!r}).")
    grid = sheets[sheet]
    # Row i of the grid is row i + 1 of the sheet, column j is column j + 1 (openpyxl reads from A1).
    table, positions = _table_from_grid(grid, first_row=1)
    values = [c for c in table.columns if c != "__ligne"]
    table[values] = table[values].map(lambda v: re.sub(r"^(-?\d+)\.0$", r"\1", v))  # Excel stores postcodes as floats
    formulas = _unsaved_formulas(data, sheet, grid, set(table["__ligne"]), dict(zip(positions, values)))
    table.attrs.update(parts=names, part=sheet, part_kind="feuille", formules=formulas)
    return table


def _unsaved_formulas(data: bytes, sheet: str, grid: pd.DataFrame, rows: set[int], columns: dict[int, str]) -> dict[tuple[int, str], str]:
    """``{(row, column): formula}`` for the cells of ``sheet`` computed by a formula whose value was never saved.

    A workbook written by a program (not by Excel or LibreOffice) keeps formulas without their
    results: read for values, those cells are empty. ``rows`` are the data rows, ``columns`` maps
    a sheet column (from 1) to its table column.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [m for m in archive.namelist() if m.startswith("xl/worksheets/")]
        if not any(re.search(rb"<f[ >]", archive.read(m)) for m in sheets):
            return {}
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        out = {}
        for row in wb[sheet].iter_rows(min_row=min(rows, default=1)):
            for cell in row:
                if getattr(cell, "data_type", None) == "f" and cell.row in rows and cell.column in columns \
                        and cell.row <= grid.shape[0] and cell.column <= grid.shape[1] and pd.isna(grid.iat[cell.row - 1, cell.column - 1]):
                    out[(int(cell.row), columns[cell.column])] = str(cell.value)
        return out
    finally:
        wb.close()


def _names_a_field(headers) -> bool:
    """Whether one of ``headers`` is a column name the automatic mapping recognises."""
    return any(_norm_header(v) in _LOOKUP for v in headers)


def _header_position(raw: pd.DataFrame) -> int | None:
    """Position of the header: the first of the first rows where a cell is a known column name."""
    for pos in range(min(_HEADER_SEARCH, len(raw))):
        if _names_a_field(raw.iloc[pos].dropna()):
            return pos
    return None


_NOT_GEO = "Vérifiez qu'il s'agit d'un GeoJSON, d'un GeoPackage ou d'un Shapefile zippé valide, ou exportez la couche en CSV."


def _read_geo(data: bytes, name: str, layer: str | None = None, kind: str = "geojson") -> pd.DataFrame:
    import geopandas as gpd
    import pyogrio

    layers: list[str] = []
    try:
        if kind == "gpkg":
            gdf, layers, layer = _read_gpkg(data, name, layer)
        elif kind == "shapefile":
            gdf, layers, layer = _read_zipped_shapefile(data, name, layer)
        elif layer is not None:
            raise DataFileError(f"Le fichier {name!r} n'a qu'une couche : retirez le choix de couche {layer!r}.")
        else:
            gdf = gpd.read_file(io.BytesIO(_as_utf8_json(data, name)))
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        # GDAL's own text names temporary files and speaks English: say what is wrong in French instead.
        raise DataFileError(_why_unreadable(data, name, kind)) from exc
    if gdf.empty:
        raise DataFileError(
            f"Le fichier {name!r} ne contient aucune entité{f' (couche {layer!r})' if layer else ''} : "
            "exportez la couche qui contient les acteurs, avec leurs attributs."
        )
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object).where(lambda d: d.notna(), "").astype(str)
    if gdf.crs is not None:
        gdf = gdf.to_crs("EPSG:4326")
    geom = gdf.geometry
    has = geom.notna() & ~geom.is_empty
    pts = geom.where(~has | (geom.geom_type == "Point"), geom.representative_point())
    # lon = x, lat = y.
    table["__lon"] = [f"{p.x:.6f}" if p is not None and not p.is_empty else "" for p in pts]
    table["__lat"] = [f"{p.y:.6f}" if p is not None and not p.is_empty else "" for p in pts]
    table.attrs.update(first_row=1, parts=layers, part=layer, part_kind="couche")
    return table


def _as_utf8_json(data: bytes, name: str) -> bytes:
    """GeoJSON bytes in UTF-8 (GDAL reads nothing else): a UTF-16/32 file with a byte-order mark is converted."""
    for bom, codec, _label in _BOMS:
        if data.startswith(bom) and codec != "utf-8-sig":
            return _decode(data, name)[0].encode("utf-8")
    return data


def _why_unreadable(data: bytes, name: str, kind: str) -> str:
    """A French reason for a geographic file GDAL could not open."""
    if kind == "gpkg":
        return _why_not_a_geopackage(data, name)
    if kind == "shapefile":
        return f"Le Shapefile de l'archive {name!r} est illisible : l'archive doit contenir les fichiers .shp, .shx et .dbf de la couche (et .prj)."
    try:
        doc = json.loads(_decode(data, name)[0])
    except RecursionError:
        return f"Le fichier {name!r} est un JSON trop imbriqué pour être lu (des milliers de niveaux de crochets ou d'accolades). {_NOT_GEO}"
    except json.JSONDecodeError as exc:
        return f"Le fichier {name!r} n'est pas un JSON valide (erreur ligne {exc.lineno}, colonne {exc.colno}). {_NOT_GEO}"
    except DataFileError as exc:
        return str(exc)
    found = f"un objet de type {doc.get('type')!r}" if isinstance(doc, dict) and doc.get("type") else f"un JSON de type {type(doc).__name__}"
    return f"Le fichier {name!r} est {found}, pas un GeoJSON lisible : attendu une « FeatureCollection » dont les « features » ont des « properties »."


def _why_not_a_geopackage(data: bytes, name: str) -> str:
    """Why GDAL could not open ``data`` as a GeoPackage: not SQLite, SQLite without GeoPackage tables, or no layer."""
    import sqlite3

    if not data.startswith(b"SQLite format 3"):
        return f"Le fichier {name!r} n'est pas un GeoPackage (ce n'est pas une base SQLite). {_NOT_GEO}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "import.gpkg"
        path.write_bytes(data)
        try:
            with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
                layers = db.execute("SELECT COUNT(*) FROM gpkg_contents").fetchone()[0]
        except sqlite3.OperationalError:
            return f"Le fichier {name!r} est une base SQLite sans les tables d'un GeoPackage (gpkg_contents). {_NOT_GEO}"
        except sqlite3.DatabaseError:
            return f"Le GeoPackage {name!r} est abîmé (base SQLite illisible). Exportez à nouveau la couche depuis QGIS ou votre logiciel SIG."
    if not layers:
        return f"Le GeoPackage {name!r} ne contient aucune couche : exportez-y la couche des acteurs (points ou table attributaire)."
    return f"Le GeoPackage {name!r} est illisible : ses couches ne s'ouvrent pas. Exportez à nouveau la couche depuis QGIS ou votre logiciel SIG."


def _read_gpkg(data: bytes, name: str, layer: str | None):
    """``(layer's GeoDataFrame, every layer name, layer read)``: ``layer``, else the first with a known column."""
    import geopandas as gpd
    import pyogrio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "import.gpkg"
        path.write_bytes(data)
        layers = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
        if not layers:
            raise DataFileError(f"Le GeoPackage {name!r} ne contient aucune couche : exportez-y la couche des acteurs.")
        return _pick_layer(lambda n: gpd.read_file(path, layer=n), lambda n: pyogrio.read_info(path, layer=n)["fields"],
                           layers, layer, f"Le GeoPackage {name!r}")


def _pick_layer(read, fields, layers: list[str], layer: str | None, what: str):
    """``(GeoDataFrame, layers, layer read)``: ``layer``, else the first layer with a known column, else the first."""
    if layer is not None and layer not in layers:
        raise DataFileError(f"{what} n'a pas de couche {layer!r}. Couches : {layers!r}.")
    if layer is None:
        known = [n for n in layers if _names_a_field(fields(n))] if len(layers) > 1 else []
        layer = (known or layers)[0]
    return read(layer), layers, layer


def _read_zipped_shapefile(data: bytes, name: str, layer: str | None):
    """A zipped Shapefile, read by GDAL inside the archive; each ``.shp`` of the archive is a layer."""
    import geopandas as gpd
    import pyogrio

    members = _zip_members(data) or []
    shapes = {Path(m).stem: m for m in members if m.lower().endswith(".shp") and not Path(m).name.startswith(".")}
    stems = {m.rsplit(".", 1)[0].lower() for m in members}
    for stem, member in shapes.items():
        base = member.rsplit(".", 1)[0]
        missing = [ext for ext in (".shx", ".dbf") if not any(m.lower() == (base + ext).lower() for m in members)]
        if missing and base.lower() in stems:
            raise DataFileError(
                f"Le Shapefile {stem!r} de l'archive {name!r} est incomplet : il manque {' et '.join(missing)}. "
                "Zippez ensemble les fichiers .shp, .shx, .dbf et .prj de la couche."
            )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "import.zip"
        path.write_bytes(data)
        inside = {stem: f"/vsizip/{path.as_posix()}/{member}" for stem, member in shapes.items()}
        return _pick_layer(lambda n: gpd.read_file(inside[n]), lambda n: pyogrio.read_info(inside[n])["fields"],
                           list(shapes), layer, f"L'archive {name!r}")


def read_table(source, *, filename: str | None = None, sheet: str | None = None) -> pd.DataFrame:
    """Read a file of actors as a table of strings, whatever its format.

    Parameters
    ----------
    source : path, bytes or file-like
        The file (an uploaded file's bytes in the app).
    filename : str, optional
        Name used to guess the format and in messages; defaults to the path's name.
    sheet : str, optional
        Sheet of a workbook, or layer of a GeoPackage or of a zipped Shapefile; by default the first
        whose columns name a known field (else the first that is not empty).

    Returns
    -------
    DataFrame of ``str``; column ``__ligne`` (tables) holds each row's number in the file, else
    ``attrs["first_row"]`` is the number of its first row; for a workbook or a GeoPackage,
    ``attrs["parts"]`` lists its sheets or layers and ``attrs["part"]`` names the one read;
    ``attrs["remarques"]`` holds remarks on the file itself (duplicated columns), ``attrs["formules"]``
    the cells of formulas saved without their value.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise DataFileError(f"Fichier introuvable : {str(path)!r}. Vérifiez le chemin.")
        data, filename = path.read_bytes(), filename or path.name
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.read()
        filename = filename or getattr(source, "name", "")
    filename = filename or "import.csv"
    suffix = Path(filename).suffix.lower()
    if not data.strip():
        raise DataFileError(f"Le fichier {filename!r} est vide : exportez l'enquête avec sa ligne d'en-tête et au moins une ligne.")
    if suffix == ".zip" or data[:4] == b"PK\x03\x04":
        members = _zip_members(data)
        if members is not None and not _is_workbook(members):
            if any(m.lower().endswith(".shp") for m in members):
                return _read_geo(data, filename, sheet, kind="shapefile")
            shown = [m for m in members if not m.endswith("/")][:8]
            raise DataFileError(
                f"L'archive {filename!r} ne contient ni Shapefile (.shp) ni classeur (fichiers : {shown!r}). "
                "Déposez le fichier lui-même (CSV, XLSX, GeoJSON, GeoPackage) ou un zip des fichiers .shp, .shx, .dbf et .prj."
            )
        if suffix == ".zip" and members is None:
            raise DataFileError(f"L'archive {filename!r} est illisible ou incomplète. Recréez le zip et déposez-le à nouveau.")
        return _read_xlsx(data, filename, sheet)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(data, filename, sheet)
    if suffix == ".gpkg" or data[:16].startswith(b"SQLite format 3"):
        return _read_geo(data, filename if suffix else filename + ".gpkg", sheet, kind="gpkg")
    if suffix in GEO_SUFFIXES:
        return _read_geo(data, filename, sheet)
    if suffix in (".csv", ".txt", ""):
        if sheet is not None:
            raise DataFileError(f"Le fichier {filename!r} est un CSV, sans feuilles ni couches : retirez le choix de feuille {sheet!r}.")
        return _read_csv(data, filename)
    raise DataFileError(
        f"Format non pris en charge : {filename!r}. Formats acceptés : CSV, XLSX, GeoJSON, GeoPackage, Shapefile zippé (.zip)."
    )


# -- mapping -------------------------------------------------------------------------------------


def suggest_mapping(columns) -> dict[str, str]:
    """Map each recognised file column to a field of the schema (one column per field, first wins)."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        if col in ("__lon", "__lat"):
            continue
        target = _LOOKUP.get(_norm_header(col))
        if target and target not in used:
            mapping[col] = target
            used.add(target)
    return mapping


def _apply_mapping(table: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    out = pd.DataFrame(index=table.index)
    for col, target in mapping.items():
        if target and col in table.columns:
            out[target] = table[col].astype(str)
    for name in TARGETS:
        if name not in out.columns:
            out[name] = ""
    # A geographic file gives the coordinates of its features when no column does.
    if "__lon" in table.columns:
        no_coords = (out["longitude"].str.strip() == "") & (out["latitude"].str.strip() == "")
        out.loc[no_coords, "longitude"] = table.loc[no_coords, "__lon"]
        out.loc[no_coords, "latitude"] = table.loc[no_coords, "__lat"]
    out = out[list(TARGETS)]
    return pd.DataFrame({name: out[name].fillna("").astype(str).str.strip() for name in TARGETS}, index=out.index)


# -- validation ----------------------------------------------------------------------------------


def stable_id(nom: str, commune: str, code_postal: str) -> str:
    """An id that stays the same across re-imports of the same actor (so corrections survive)."""
    key = f"{_norm_header(nom)}|{normalise_name(commune)}|{clean_postcode(code_postal)[:2]}"
    return "imp-" + hashlib.sha256(key.encode()).hexdigest()[:10]


_TYPE_KEYWORDS = (
    (r"\bmusee|museum|planetarium|centre de sciences|ccsti", "musée/centre de sciences"),
    (r"fab ?lab|makerspace|tiers lieu", "Fab Lab"),
    (r"\bunite|laborato|\blabo\b|recherche|universit|equipe|federation|\bgdr\b|\bsfr\b|\bgis\b", "laboratoire/université"),
    (r"biblioth|mediath", "bibliothèque"),
    (r"\basso", "association"),
    (r"\becole|college|lycee|scolaire", "établissement scolaire"),
    (r"tourisme|observatoire|grotte", "site de tourisme scientifique"),
)


def _normalise_type(value: str) -> str | None:
    key = _norm_header(value)
    if key in _TYPE_SYNONYMS:
        return _TYPE_SYNONYMS[key]
    for pattern, target in _TYPE_KEYWORDS:
        if re.search(pattern, key):
            return target
    return None


def _per_value(values: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` once per distinct value (survey columns repeat a lot)."""
    uniq = pd.unique(values.to_numpy(dtype=object))
    table = dict(zip(uniq, (fn(v) for v in uniq)))
    return pd.Series([table[v] for v in values.to_numpy(dtype=object)], index=values.index, dtype=object)


def _clean_url(url: str):
    """The address as the schema accepts it ("www.x.fr" gains https://), "" for none, None when unreadable."""
    if not url:
        return url
    if not re.match(r"^https?://", url, re.I) and re.match(r"^(www\.)?[\w-]+(\.[\w-]+)+(/\S*)?$", url):
        url = "https://" + url
    return url if WEB_ADDRESS.accepts(url) else None


def _emails_in(text: str) -> list[str]:
    """The e-mail addresses of a cell ("mailto:" dropped; several may be listed, separated by ; , or spaces)."""
    parts = re.split(r"[;,\s]+", re.sub(r"(?i)\bmailto:", "", text))
    return [p.strip("<>()[]\"'") for p in parts if EMAIL.accepts(p.strip("<>()[]\"'"))]


# Dates as spreadsheets write them: ISO (with a time from Excel), or French day first.
_DAY_FORMATS = ((re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})(?:[T ][0-9:.]+)?"), (1, 2, 3)),
                (re.compile(r"([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})"), (3, 2, 1)))


def _iso_day(text: str) -> str:
    """``text`` as an ISO date (2026-03-15 for "15/03/2026" or "2026-03-15 00:00:00"), "" when it is not a date."""
    for pattern, (y, m, d) in _DAY_FORMATS:
        found = pattern.fullmatch(text)
        if found:
            try:
                return dt.date(int(found.group(y)), int(found.group(m)), int(found.group(d))).isoformat()
            except ValueError:
                return ""
    return ""


_STATUSES = {_norm_header(s): s for s in SURVEY_STATUSES} | {
    "pas contacte": "non contacté", "a contacter": "non contacté", "envoyee": "envoyé", "repondue": "répondu", "reponse recue": "répondu",
    "validee": "validé",
}


def _to_float(text: pd.Series) -> pd.Series:
    cleaned = text.str.replace(",", ".", regex=False).str.replace("\u202f", "", regex=False).str.replace(" ", "", regex=False)
    return pd.to_numeric(cleaned, errors="coerce")


#: Longest value shown in the report (a 5 MB cell is shown by its start).
REPORT_VALUE_LENGTH = 200
#: Free text (fields without a rule) is cut to its length with a warning; a value breaking a rule is repaired or emptied.
_CUT_TO_LENGTH = (*(f.name for f in FIELDS if f.rule is None), DECLARED_DEPARTMENT, DECLARED_REGION)
_MAX_LENGTH = {**{f.name: f.max_length for f in FIELDS}, DECLARED_DEPARTMENT: 100, DECLARED_REGION: 100}
_FIX_FORMULA = ("ouvrez le classeur dans Excel ou LibreOffice, enregistrez le classeur après recalcul, puis importez-le à nouveau "
                "(ou collez les valeurs à la place des formules)")


def _visible(text: str) -> str:
    """``text`` for the report: control characters shown as symbols (␀, ␛), long text cut."""
    pictures = {c: chr(0x2400 + c) for c in range(0x20)} | {0x7F: "\u2421"}
    return shorten(str(text).translate(pictures), REPORT_VALUE_LENGTH)


def _controls_found(text: str) -> str:
    """The control characters of ``text``, as the report names them (NUL, ESC [31m, U+0007)."""
    found = []
    for m in CONTROL_CHARACTERS.finditer(text):
        code = m.group()
        label = "NUL" if code == "\0" else ("ESC " + code[1:] if code.startswith("\x1b") and len(code) > 1 else f"U+{ord(code[0]):04X}")
        if label not in found:
            found.append(label)
    return ", ".join(shorten(x, 20) for x in found[:4]) + (", …" if len(found) > 4 else "")


def _scrub(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(values without control characters, mask of the values changed)``."""
    dirty = values.str.contains(CONTROL_CHARACTERS.pattern, regex=True)
    if not dirty.any():
        return values, dirty
    return values.where(~dirty, values[dirty].map(strip_controls).str.strip()), dirty


def validate(actors: pd.DataFrame, rows: pd.Series, formulas: dict[str, pd.Series] | None = None) -> tuple[pd.DataFrame, pd.Series, list[dict]]:
    """Check and tidy mapped actors column by column; returns (actors, rejected mask, report entries).

    ``formulas`` gives, per field, the formula of each cell saved without its value ("" elsewhere).
    """
    df = actors.copy()
    report: list[dict] = []

    def note(mask, field_name, values, reason, fix, level="avertissement"):
        """One report row per row of ``mask``; ``reason`` and ``fix`` are a text or a text per row."""
        for i in df.index[mask]:
            report.append({ROW: int(rows[i]), "champ": field_name, "valeur": _visible(values[i]), "gravite": level,
                           "motif": reason[i] if isinstance(reason, pd.Series) else reason,
                           "correction": fix[i] if isinstance(fix, pd.Series) else fix})

    # Hygiene first: invisible characters are removed (never a cut at the first NUL), over-long text is cut; both said.
    for name in TARGETS:
        original = df[name]
        df[name], dirty = _scrub(original)
        note(dirty, name, original, original[dirty].map(lambda v: f"caractères de contrôle supprimés ({_controls_found(v)})"),
             "retirez ces caractères invisibles du fichier (souvent venus d'un copier-coller depuis un terminal ou un autre logiciel)")
    for name in _CUT_TO_LENGTH:
        limit, original = _MAX_LENGTH[name], df[name]
        long = original.str.len() > limit
        if long.any():
            label = FIELDS_BY_NAME[name].label if name in FIELDS_BY_NAME else _EXTRA_LABELS[name]
            note(long, name, original, original[long].map(lambda v, lim=limit: f"texte trop long ({len(v)} caractères, limite {lim}) : tronqué"),
                 f"raccourcissez le champ « {label} » à {limit} caractères au plus")
            df.loc[long, name] = original[long].map(lambda v, lim=limit: shorten(v, lim))
    formulas = formulas or {}
    for name, formula in formulas.items():
        if name != "nom":
            note((formula != "") & (df[name] == ""), name, formula, "formule sans valeur enregistrée : cellule lue vide", _FIX_FORMULA)

    rejected = df["nom"] == ""
    by_formula = rejected & (formulas["nom"] != "") if "nom" in formulas else pd.Series(False, index=df.index)
    if by_formula.any():
        note(by_formula, "nom", formulas["nom"], "nom calculé par une formule dont la valeur n'a pas été enregistrée", _FIX_FORMULA, "rejet")
    note(rejected & ~by_formula, "nom", df["nom"], "nom de la structure absent", "renseignez le nom de la structure", "rejet")

    # Coordinates: decimal degrees, comma or point; swapped pairs put back; nonsense dropped.
    both = df["latitude"] + " / " + df["longitude"]
    lon, lat = _to_float(df["longitude"]), _to_float(df["latitude"])
    given = (df["longitude"] != "") | (df["latitude"] != "")
    unreadable = given & (lon.isna() | lat.isna())
    note(unreadable, "latitude/longitude", both, "coordonnées illisibles, ignorées",
         "écrivez des degrés décimaux WGS 84 (ex. 43.6045 et 1.4440) ou videz les deux cellules")
    lon, lat = lon.where(~unreadable), lat.where(~unreadable)
    # Occitanie lies near 42-45 N, 0-5 E: a "latitude" of 3 with a "longitude" of 43 is a swapped pair.
    swapped = lon.between(40, 46) & lat.between(-6, 10)
    note(swapped, "latitude/longitude", both, "latitude et longitude inversées, remises dans l'ordre", "vérifiez l'ordre des colonnes latitude et longitude")
    lon, lat = lon.where(~swapped, lat), lat.where(~swapped, lon)
    off_globe = lon.notna() & lat.notna() & ~(lat.between(-90, 90) & lon.between(-180, 180))
    note(off_globe, "latitude/longitude", both, "coordonnées hors des limites du globe, ignorées", "écrivez des degrés décimaux WGS 84")
    lon, lat = lon.where(~off_globe), lat.where(~off_globe)
    has_coords = lon.notna() & lat.notna()
    df["longitude"] = lon.map(lambda v: f"{v:.6f}").where(has_coords, "").astype(str)
    df["latitude"] = lat.map(lambda v: f"{v:.6f}").where(has_coords, "").astype(str)

    cp = df["code_postal"]
    clean = _per_value(cp, clean_postcode).where(lambda v: v.map(_POSTCODE.accepts), "")
    unreadable_cp = (cp != "") & (clean == "")
    note(unreadable_cp, "code_postal", cp, "code postal illisible, laissé vide", "écrivez 5 chiffres (ex. 31000)")
    short = cp.str.fullmatch(r"[0-9]{4}(\.0)?")
    note(short, "code_postal", cp, "zéro initial restauré : " + clean.astype(str), "formatez la colonne en texte dans le tableur")
    reduced = (clean != "") & ~cp.str.fullmatch(r"[0-9]{4,5}(\.0)?")
    note(reduced, "code_postal", cp, "code postal réduit à ses 5 chiffres : " + clean.astype(str),
         "écrivez la mention CEDEX ou la commune dans leurs propres colonnes")
    df["code_postal"] = clean.astype(str)

    code = df["code_insee"]
    padded = code.where(~code.str.fullmatch(r"[0-9]{4}"), code.str.zfill(5)).str.upper()
    bad_code = (code != "") & ~padded.map(FIELDS_BY_NAME["code_insee"].rule.accepts).astype(bool)
    note(bad_code, "code_insee", code, "code INSEE invalide, ignoré", "écrivez le code officiel à 5 caractères (ex. 31555) ou videz la cellule")
    df["code_insee"] = padded.where(~bad_code, "").astype(str)

    located = (df["commune"] != "") | (df["code_postal"] != "") | (df["code_insee"] != "") | (df["adresse"] != "") | has_coords
    unlocated = ~located & ~rejected
    note(unlocated, "commune", df["commune"], "aucune information de lieu (ni adresse, ni commune, ni code postal, ni coordonnées)",
         "ajoutez au moins la commune ou le code postal", "rejet")
    rejected = rejected | unlocated

    t = df["type_structure"]
    mapped = _per_value(t, lambda v: v if v in TYPES or not v else _normalise_type(v))
    unknown_type = mapped.isna()
    note(unknown_type, "type_structure", t, "type de structure inconnu, remplacé par « autre »", f"choisissez parmi : {', '.join(TYPES)}")
    df["type_structure"] = mapped.where(~unknown_type, "autre").astype(str)

    c = df["cercle"]
    num = _to_float(c)
    good = num.isin([1, 2, 3])
    bad_circle = (c != "") & ~good
    note(bad_circle, "cercle", c, "cercle inconnu, laissé vide", "écrivez 1, 2 ou 3")
    df["cercle"] = num.map(lambda v: str(int(v)) if v in (1, 2, 3) else "").where(good, "").astype(str)

    url = df["site_web"]
    fixed = _per_value(url, _clean_url)
    bad_url = fixed.isna()
    note(bad_url, "site_web", url, "adresse de site non reconnue, ignorée", "écrivez une adresse complète commençant par https://")
    df["site_web"] = fixed.where(~bad_url, "").astype(str)

    mail = df["contact_email"]
    found = _per_value(mail, _emails_in)
    first = found.map(lambda v: v[0] if v else "")
    note((mail != "") & (first == ""), "contact_email", mail, "courriel mal formé, laissé vide", "écrivez une adresse du type nom@domaine.fr")
    several = found.map(len) > 1
    note(several, "contact_email", mail, "plusieurs courriels : seul le premier est gardé (" + first.astype(str) + ")",
         "gardez une seule adresse de contact par structure")
    df["contact_email"] = first.astype(str)

    day = df["date_maj"]
    iso = _per_value(day, _iso_day)
    note((day != "") & (iso == ""), "date_maj", day, "date illisible, laissée vide", "écrivez la date sous la forme AAAA-MM-JJ (ex. 2026-03-15) ou JJ/MM/AAAA")
    df["date_maj"] = iso.astype(str)

    status = df["statut_enquete"]
    known = _per_value(status, lambda v: _STATUSES.get(_norm_header(v), "") if v else "")
    note((status != "") & (known == ""), "statut_enquete", status, "statut d'enquête inconnu, laissé vide",
         f"choisissez parmi : {', '.join(SURVEY_STATUSES)}")
    df["statut_enquete"] = known.astype(str)

    zone = df["zone_intervention"]
    tidied = _per_value(zone, zones.tidy)
    dropped = tidied.map(lambda t: bool(t[1]))
    note(dropped, "zone_intervention", zone, tidied[dropped].map(lambda t: "; ".join(t[1]) + " : code retiré de la zone, les autres sont gardés"),
         f"écrivez {zones.EXPECTED}")
    df["zone_intervention"] = tidied.map(lambda t: t[0]).astype(str)

    _enforce_schema(df, rejected, note)
    return df, rejected, report


def _enforce_schema(df: pd.DataFrame, rejected: pd.Series, note) -> None:
    """Last check, with the schema's own rules (those of the store): what still breaks one is emptied, with a warning.

    The repairs above should leave nothing here; this keeps "a row the import accepts is a row
    the store accepts" true whatever a file holds. Required fields never reach here empty: a row
    without a name is set aside, and ids are made after validation.
    """
    for f in FIELDS:
        if f.required:
            continue
        values = df[f.name]
        problems = _per_value(values, f.problem)
        bad = problems.notna() & ~rejected
        if bad.any():
            note(bad, f.name, values, problems[bad].map(lambda p: f"{p.reason} (règle de l'annuaire) : laissé vide"), problems[bad].map(lambda p: p.fix))
            df.loc[problems.notna(), f.name] = ""
    lone = (df["latitude"] == "") != (df["longitude"] == "")
    df.loc[lone, ["latitude", "longitude"]] = ""


def commune_keys(communes: pd.Series) -> pd.Series:
    """The commune part of :func:`name_commune_keys` (cheap: communes repeat), to narrow a search before normalising names."""
    return _per_value(communes.astype(str), normalise_name)


def name_commune_keys(noms: pd.Series, communes: pd.Series) -> pd.Series:
    """What tells two rows name the same actor: its name and commune, normalised (duplicates in a file, an import against the directory)."""
    return _per_value(noms.astype(str), _norm_header) + "|" + commune_keys(communes)


def _flag_duplicates(df: pd.DataFrame, rows: pd.Series, keep: pd.Series, report: list[dict]) -> pd.Series:
    key = name_commune_keys(df["nom"], df["commune"]) + "|" + df["code_postal"].str[:2]
    dup_of = [""] * len(df)
    first: dict[str, int] = {}
    for pos, (k, kept, row, nom) in enumerate(zip(key, keep, rows, df["nom"])):
        if not kept:
            continue
        if k in first:
            dup_of[pos] = str(first[k])
            report.append({ROW: int(row), "champ": "nom", "valeur": _visible(nom), "gravite": "avertissement",
                           "motif": f"doublon probable de la ligne {first[k]} (même nom, même commune)",
                           "correction": "supprimez l'une des deux lignes ou distinguez les noms"})
        else:
            first[k] = int(row)
    return pd.Series(dup_of, index=df.index, dtype=object)


def import_actors(source, *, filename: str | None = None, mapping: dict[str, str] | None = None, sheet: str | None = None,
                  reference: Reference | None = None, keep_outside=()) -> ImportResult:
    """Read, map and validate a file of actors; nothing is dropped silently.

    Parameters
    ----------
    source : path, bytes or file-like
    filename : str, optional
        Name of the file (format and messages).
    mapping : dict, optional
        ``{file column: field}`` overriding the automatic mapping; map a column to ``""`` to ignore it.
    sheet : str, optional
        Sheet of a workbook or layer of a GeoPackage (see :func:`read_table`).
    reference : Reference, optional
        With it, the region rule applies: rows whose region, department, postcode, INSEE code or
        coordinates lie outside the region are set aside with the reason :data:`geodata.region.OUTSIDE`,
        except those whose row number is in ``keep_outside`` (kept deliberately, with a warning).

    Returns
    -------
    ImportResult
        ``actors`` has every schema field plus ``departement_declare``, ``ligne`` and ``doublon_de``;
        ``rejected`` has the original columns plus ``ligne`` and ``motif``; ``report`` one row per remark.
    """
    table = read_table(source, filename=filename, sheet=sheet)
    name = filename or (Path(source).name if isinstance(source, (str, Path)) else "import")
    return import_table(table, name=name, mapping=mapping, reference=reference, keep_outside=keep_outside)


def import_table(table: pd.DataFrame, *, name: str, mapping: dict[str, str] | None = None, reference: Reference | None = None,
                 keep_outside=()) -> ImportResult:
    """Map and validate a table already read by :func:`read_table` (see :func:`import_actors`)."""
    auto = suggest_mapping(table.columns)
    if mapping:
        unknown = [c for c in mapping if c not in table.columns]
        if unknown:
            raise DataFileError(f"Colonnes de correspondance absentes du fichier {name!r} : {unknown!r}. Colonnes lues : {list(table.columns)!r}.")
        bad = [t for t in mapping.values() if t and t not in TARGETS]
        if bad:
            raise DataFileError(f"Champs inconnus dans la correspondance : {bad!r}. Champs possibles : {list(TARGETS)!r}.")
        taken = {t for t in mapping.values() if t}
        auto = {c: t for c, t in auto.items() if c not in mapping and t not in taken}
        auto.update({c: t for c, t in mapping.items() if t})
    read = [c for c in table.columns if not str(c).startswith("__")]
    if "nom" not in auto.values():
        raise DataFileError(
            f"Aucune colonne du fichier {name!r} ne donne le nom de la structure (colonnes lues : {read[:15]!r}). "
            "Renommez la colonne « Nom de la structure » ou choisissez-la dans la correspondance des colonnes."
        )
    place_fields = {"commune", "code_postal", "code_insee", "adresse", "latitude", "longitude"}
    if not place_fields & set(auto.values()) and "__lon" not in table.columns:
        raise DataFileError(
            f"Aucune colonne de lieu dans {name!r} (colonnes lues : {read[:15]!r}). "
            "Ajoutez une colonne « Commune », « Code postal », « Adresse » ou « Latitude »/« Longitude », ou indiquez-la dans la correspondance."
        )
    if "__ligne" in table.columns:
        rows = table["__ligne"].astype("int64")
    else:
        first_row = int(table.attrs.get("first_row", 2))
        rows = pd.Series(range(first_row, first_row + len(table)), index=table.index)
    mapped = _apply_mapping(table, auto)
    actors, rejected_mask, report = validate(mapped, rows, _formulas_by_field(table, rows, auto))
    if reference is not None:
        rejected_mask = _region_rule(actors, rows, rejected_mask, report, reference, keep={int(r) for r in keep_outside})
    report = [*table.attrs.get("remarques", []), *report]
    dup_of = _flag_duplicates(actors, rows, ~rejected_mask, report)
    actors["id"] = _unique_ids(actors)
    actors[ROW] = rows
    actors["doublon_de"] = dup_of
    rep = pd.DataFrame(report, columns=[ROW, "champ", "valeur", "gravite", "motif", "correction"]).sort_values(ROW, kind="stable").reset_index(drop=True)
    reasons = rep[rep["gravite"] == "rejet"].groupby(ROW)["motif"].agg("; ".join)
    rejected = table.loc[rejected_mask, read].copy()
    for col in read:  # the rows set aside go to a spreadsheet: no invisible characters there either
        rejected[col] = _scrub(rejected[col].astype(str))[0]
    rejected.insert(0, ROW, rows[rejected_mask])
    rejected["motif"] = rejected[ROW].map(reasons)
    return ImportResult(
        actors=actors.loc[~rejected_mask].reset_index(drop=True),
        rejected=rejected.reset_index(drop=True),
        report=rep,
        mapping=auto,
        unmapped=[c for c in read if c not in auto],
        source_name=name,
        parts=list(table.attrs.get("parts", [])),
        part=table.attrs.get("part"),
        part_kind=table.attrs.get("part_kind", "feuille"),
    )


def _region_rule(df: pd.DataFrame, rows: pd.Series, rejected: pd.Series, report: list[dict], reference: Reference, *, keep: set[int]) -> pd.Series:
    """Set aside the rows that lie outside the region (unless kept deliberately); a pair that lands in it once swapped is put back."""
    lat, lon = _to_float(df["latitude"]), _to_float(df["longitude"])
    given = lat.notna() & lon.notna()
    if given.any():
        swapped = pd.Series(False, index=df.index)
        swapped[given] = where_points(reference, lon[given], lat[given])["swapped"].to_numpy()
        for i in df.index[swapped]:
            report.append(_remark(rows[i], "latitude/longitude", f"{df.at[i, 'latitude']} / {df.at[i, 'longitude']}",
                                  "latitude et longitude inversées, remises dans l'ordre", "vérifiez l'ordre des colonnes latitude et longitude"))
        df.loc[swapped, ["latitude", "longitude"]] = df.loc[swapped, ["longitude", "latitude"]].to_numpy()
    reasons = outside_reasons(df, reference, region_column=DECLARED_REGION, department_column=DECLARED_DEPARTMENT)
    outside = (reasons != "") & ~rejected
    kept = outside & rows.isin(keep)
    for i in df.index[outside]:
        where = _visible(df.at[i, "commune"] or df.at[i, "code_postal"])
        if kept[i]:
            report.append(_remark(rows[i], "lieu", where, f"{reasons[i]} ; gardée à la demande de l'équipe", "rien à faire si ce choix est voulu"))
        else:
            report.append(_remark(rows[i], "lieu", where, reasons[i], "ligne écartée : l'annuaire couvre l'Occitanie ; gardez-la délibérément si elle y a sa place", "rejet"))
    return rejected | (outside & ~kept)


def _formulas_by_field(table: pd.DataFrame, rows: pd.Series, mapping: dict[str, str]) -> dict[str, pd.Series]:
    """Per mapped field, the formula of each cell saved without its value (see ``attrs["formules"]``)."""
    cells = table.attrs.get("formules") or {}
    out = {}
    for column, target in mapping.items():
        found = {row: f for (row, col), f in cells.items() if col == column}
        if target and found:
            out[target] = rows.map(lambda r, found=found: found.get(int(r), "")).astype(object)
    return out


def _unique_ids(actors: pd.DataFrame) -> pd.Series:
    """File ids, else stable ones; a repeated id gets a suffix (-2, -3…) so each actor stays addressable."""
    limit = _MAX_LENGTH["id"]
    out: list[str] = []
    used: set[str] = set()
    for given, nom, commune, cp in zip(actors["id"], actors["nom"], actors["commune"], actors["code_postal"]):
        base = given or stable_id(nom, commune, cp)
        candidate, n = base, 1
        while candidate in used:  # also steps over an id of the file that looks like a suffixed one
            n += 1
            candidate = f"{base[: limit - len(str(n)) - 1]}-{n}"
        used.add(candidate)
        out.append(candidate)
    return pd.Series(out, index=actors.index, dtype=actors["id"].dtype)


def rejected_csv(result: ImportResult) -> bytes:
    """The rejected rows, with their row number and reason, as CSV for a spreadsheet (UTF-8 with BOM)."""
    return csv_bytes(result.rejected)

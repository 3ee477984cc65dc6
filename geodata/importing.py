"""Import of actor files (CSV, XLSX, GeoJSON, GeoPackage): column mapping, validation report, rejected rows."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geodata.actors import FIELD_NAMES, FIELDS, TYPES
from geodata.errors import DataFileError
from geodata.gazetteer import clean_postcode, normalise_name
from geodata.writers import csv_bytes

#: Extra column kept beside the schema: the department the file declares (checked against placement).
DECLARED_DEPARTMENT = "departement_declare"
#: Fields a file may fill, in the order shown in a mapping screen.
TARGETS = (*FIELD_NAMES, DECLARED_DEPARTMENT)
#: Column holding the row number as the user sees it in the file (header = line 1 for tables).
ROW = "ligne"
GEO_SUFFIXES = (".geojson", ".json", ".gpkg")
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
    "site_web": ("site web", "site internet", "site", "url", "website", "web", "lien"),
    "presentation_resume": ("presentation courte", "presentation", "resume", "description", "description courte", "summary"),
    "presentation_detail": ("presentation detaillee", "description longue", "description detaillee", "details"),
    "date_maj": ("date de mise a jour", "date maj", "mise a jour", "updated", "last update", "date"),
    "source": ("source", "origine", "provenance"),
    "statut_enquete": ("statut de l enquete", "statut enquete", "statut", "status"),
    "contact_nom": ("personne contact", "contact", "nom du contact", "contact nom", "referent", "contact name", "interlocuteur"),
    "contact_email": ("courriel", "email", "e mail", "mail", "adresse electronique", "adresse mail", "contact email"),
    "contact_telephone": ("telephone", "tel", "phone", "telephone contact", "numero de telephone"),
    DECLARED_DEPARTMENT: ("departement", "department", "dep", "code departement", "dept", "num departement"),
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

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


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
        return f"{where}{len(self.actors)} acteurs retenus, {len(self.rejected)} lignes rejetées, {warnings} avertissements."


# -- reading -------------------------------------------------------------------------------------


def _decode(data: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # never fails: every byte is a character


def _sniff_sep(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


def _read_csv(data: bytes, name: str) -> pd.DataFrame:
    text = _decode(data, name)
    if not text.strip():
        raise DataFileError(f"Le fichier {name!r} est vide : exportez l'enquête avec sa ligne d'en-tête et au moins une ligne.")
    sep = _sniff_sep(text)
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=False)
    except pd.errors.ParserError as exc:
        raise DataFileError(f"Le fichier {name!r} n'est pas un CSV lisible ({exc}). Vérifiez le séparateur (« ; » ou « , ») et les guillemets.") from exc
    table.attrs["first_row"] = 2
    return table


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
    headers = {n: _header_position(t) for n, t in cleaned.items()}
    if sheet is None:
        candidates = [n for n in names if headers[n] is not None] or [n for n in names if not cleaned[n].empty] or names[:1]
        sheet = candidates[0]
    raw = cleaned[sheet]
    if raw.empty:
        if len(names) == 1:
            raise DataFileError(f"Le classeur {name!r} est vide : sa feuille doit contenir l'en-tête et les lignes.")
        raise DataFileError(f"La feuille {sheet!r} du classeur {name!r} est vide : choisissez celle qui contient l'en-tête et les lignes (feuilles : {names!r}).")
    header_pos = headers[sheet] or 0
    header = [str(v).strip() if pd.notna(v) else f"colonne_{i + 1}" for i, v in enumerate(raw.iloc[header_pos])]
    body = raw.iloc[header_pos + 1 :].fillna("").astype(str)
    body.columns = header
    first_row = int(raw.index[header_pos]) + 2
    body = body.reset_index(drop=True)
    body = body.map(lambda v: re.sub(r"^(-?\d+)\.0$", r"\1", v))  # Excel stores postcodes as floats
    body.attrs.update(first_row=first_row, parts=names, part=sheet, part_kind="feuille")
    return body


def _names_a_field(headers) -> bool:
    """Whether one of ``headers`` is a column name the automatic mapping recognises."""
    return any(_norm_header(v) in _LOOKUP for v in headers)


def _header_position(raw: pd.DataFrame) -> int | None:
    """Position of the header: the first of the ten first rows where a cell is a known column name."""
    for pos in range(min(10, len(raw))):
        if _names_a_field(raw.iloc[pos].dropna()):
            return pos
    return None


def _read_geo(data: bytes, name: str, layer: str | None = None) -> pd.DataFrame:
    import geopandas as gpd
    import pyogrio

    layers: list[str] = []
    try:
        if name.lower().endswith(".gpkg"):
            gdf, layers, layer = _read_gpkg(data, name, layer)
        elif layer is not None:
            raise DataFileError(f"Le fichier {name!r} n'a qu'une couche : retirez le choix de couche {layer!r}.")
        else:
            gdf = gpd.read_file(io.BytesIO(data))
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise DataFileError(f"Le fichier géographique {name!r} est illisible ({exc}). Vérifiez qu'il s'agit d'un GeoJSON ou d'un GeoPackage valide.") from exc
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object).where(lambda d: d.notna(), "").astype(str)
    if gdf.crs is not None and not gdf.empty:
        gdf = gdf.to_crs("EPSG:4326")
    geom = gdf.geometry
    has = geom.notna() & ~geom.is_empty
    pts = geom.where(~has | (geom.geom_type == "Point"), geom.representative_point())
    # lon = x, lat = y.
    table["__lon"] = [f"{p.x:.6f}" if p is not None and not p.is_empty else "" for p in pts]
    table["__lat"] = [f"{p.y:.6f}" if p is not None and not p.is_empty else "" for p in pts]
    table.attrs.update(first_row=1, parts=layers, part=layer, part_kind="couche")
    return table


def _read_gpkg(data: bytes, name: str, layer: str | None):
    """``(layer's GeoDataFrame, every layer name, layer read)``: ``layer``, else the first with a known column."""
    import tempfile

    import geopandas as gpd
    import pyogrio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "import.gpkg"
        path.write_bytes(data)
        layers = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
        if layer is not None and layer not in layers:
            raise DataFileError(f"Le GeoPackage {name!r} n'a pas de couche {layer!r}. Couches : {layers!r}.")
        if layer is None and len(layers) > 1:
            known = [n for n in layers if _names_a_field(pyogrio.read_info(path, layer=n)["fields"])]
            layer = (known or layers)[0]
        return gpd.read_file(path, layer=layer), layers, layer or (layers[0] if layers else None)


def read_table(source, *, filename: str | None = None, sheet: str | None = None) -> pd.DataFrame:
    """Read a file of actors as a table of strings, whatever its format.

    Parameters
    ----------
    source : path, bytes or file-like
        The file (an uploaded file's bytes in the app).
    filename : str, optional
        Name used to guess the format and in messages; defaults to the path's name.
    sheet : str, optional
        Sheet of a workbook, or layer of a GeoPackage; by default the first whose columns name a
        known field (else the first that is not empty).

    Returns
    -------
    DataFrame of ``str``; ``attrs["first_row"]`` is the row number of its first line in the file;
    for a workbook or a GeoPackage, ``attrs["parts"]`` lists its sheets or layers and
    ``attrs["part"]`` names the one read.
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
    if suffix in (".xlsx", ".xlsm") or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, filename, sheet)
    if suffix in GEO_SUFFIXES or data[:16].startswith(b"SQLite format 3"):
        return _read_geo(data, filename if suffix else filename + ".gpkg", sheet)
    if suffix in (".csv", ".txt", ""):
        if sheet is not None:
            raise DataFileError(f"Le fichier {filename!r} est un CSV, sans feuilles ni couches : retirez le choix de feuille {sheet!r}.")
        return _read_csv(data, filename)
    raise DataFileError(f"Format non pris en charge : {filename!r}. Formats acceptés : CSV, XLSX, GeoJSON, GeoPackage.")


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
    return out[list(TARGETS)].map(lambda v: v.strip() if isinstance(v, str) else ("" if pd.isna(v) else str(v)))


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
    if not url or re.match(r"^https?://\S+$", url, re.I):
        return url
    if re.match(r"^(www\.)?[\w-]+(\.[\w-]+)+(/\S*)?$", url):
        return "https://" + url
    return None


def _to_float(text: pd.Series) -> pd.Series:
    cleaned = text.str.replace(",", ".", regex=False).str.replace("\u202f", "", regex=False).str.replace(" ", "", regex=False)
    return pd.to_numeric(cleaned, errors="coerce")


def validate(actors: pd.DataFrame, rows: pd.Series) -> tuple[pd.DataFrame, pd.Series, list[dict]]:
    """Check and tidy mapped actors column by column; returns (actors, rejected mask, report entries)."""
    df = actors.copy()
    report: list[dict] = []

    def note(mask, field_name, values, reason, fix, level="avertissement"):
        reasons = reason if isinstance(reason, pd.Series) else None
        for i in df.index[mask]:
            report.append({ROW: int(rows[i]), "champ": field_name, "valeur": values[i], "gravite": level,
                           "motif": reasons[i] if reasons is not None else reason, "correction": fix})

    rejected = df["nom"] == ""
    note(rejected, "nom", df["nom"], "nom de la structure absent", "renseignez le nom de la structure", "rejet")

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

    located = (df["commune"] != "") | (df["code_postal"] != "") | (df["code_insee"] != "") | (df["adresse"] != "") | has_coords
    unlocated = ~located & ~rejected
    note(unlocated, "commune", df["commune"], "aucune information de lieu (ni adresse, ni commune, ni code postal, ni coordonnées)",
         "ajoutez au moins la commune ou le code postal", "rejet")
    rejected = rejected | unlocated

    cp = df["code_postal"]
    clean = _per_value(cp, clean_postcode)
    unreadable_cp = (cp != "") & (clean == "")
    note(unreadable_cp, "code_postal", cp, "code postal illisible, ignoré pour la localisation", "écrivez 5 chiffres (ex. 31000)")
    short = cp.str.fullmatch(r"\d{4}(\.0)?")
    note(short, "code_postal", cp, "zéro initial restauré : " + clean.astype(str), "formatez la colonne en texte dans le tableur")
    plain = cp.str.fullmatch(r"\d{4,5}(\.0)?")
    df["code_postal"] = clean.where(plain, cp).astype(str)

    code = df["code_insee"]
    padded = code.where(~code.str.fullmatch(r"\d{4}"), code.str.zfill(5)).str.upper()
    bad_code = (code != "") & ~padded.str.match(_INSEE.pattern)
    note(bad_code, "code_insee", code, "code INSEE invalide, ignoré", "écrivez le code officiel à 5 caractères (ex. 31555) ou videz la cellule")
    df["code_insee"] = padded.where(~bad_code, "").astype(str)

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
    note((mail != "") & ~mail.str.match(_EMAIL.pattern), "contact_email", mail, "courriel mal formé (conservé)", "écrivez une adresse du type nom@domaine.fr")
    return df, rejected, report


def _flag_duplicates(df: pd.DataFrame, rows: pd.Series, keep: pd.Series, report: list[dict]) -> pd.Series:
    key = _per_value(df["nom"], _norm_header) + "|" + _per_value(df["commune"], normalise_name) + "|" + df["code_postal"].str[:2]
    dup_of = pd.Series("", index=df.index, dtype=object)
    first: dict[str, int] = {}
    for i in df.index[keep]:
        k = key[i]
        if k in first:
            dup_of[i] = str(first[k])
            report.append({ROW: int(rows[i]), "champ": "nom", "valeur": df.at[i, "nom"], "gravite": "avertissement",
                           "motif": f"doublon probable de la ligne {first[k]} (même nom, même commune)",
                           "correction": "supprimez l'une des deux lignes ou distinguez les noms"})
        else:
            first[k] = int(rows[i])
    return dup_of


def import_actors(source, *, filename: str | None = None, mapping: dict[str, str] | None = None, sheet: str | None = None) -> ImportResult:
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

    Returns
    -------
    ImportResult
        ``actors`` has every schema field plus ``departement_declare``, ``ligne`` and ``doublon_de``;
        ``rejected`` has the original columns plus ``ligne`` and ``motif``; ``report`` one row per remark.
    """
    table = read_table(source, filename=filename, sheet=sheet)
    name = filename or (Path(source).name if isinstance(source, (str, Path)) else "import")
    return import_table(table, name=name, mapping=mapping)


def import_table(table: pd.DataFrame, *, name: str, mapping: dict[str, str] | None = None) -> ImportResult:
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
    if "nom" not in auto.values():
        raise DataFileError(
            f"Aucune colonne du fichier {name!r} ne donne le nom de la structure (colonnes lues : {list(table.columns)[:15]!r}). "
            "Renommez la colonne « Nom de la structure » ou choisissez-la dans la correspondance des colonnes."
        )
    place_fields = {"commune", "code_postal", "code_insee", "adresse", "latitude", "longitude"}
    if not place_fields & set(auto.values()) and "__lon" not in table.columns:
        raise DataFileError(
            f"Aucune colonne de lieu dans {name!r} (colonnes lues : {list(table.columns)[:15]!r}). "
            "Ajoutez une colonne « Commune », « Code postal », « Adresse » ou « Latitude »/« Longitude », ou indiquez-la dans la correspondance."
        )
    first_row = int(table.attrs.get("first_row", 2))
    rows = pd.Series(range(first_row, first_row + len(table)), index=table.index)
    mapped = _apply_mapping(table, auto)
    actors, rejected_mask, report = validate(mapped, rows)
    dup_of = _flag_duplicates(actors, rows, ~rejected_mask, report)
    ids = actors["id"].copy()
    missing = ids == ""
    ids[missing] = [stable_id(n, c, p) for n, c, p in zip(actors.loc[missing, "nom"], actors.loc[missing, "commune"], actors.loc[missing, "code_postal"])]
    # Two rows with the same id (duplicates, or a file repeating ids) get a suffix so each stays addressable.
    seen: dict[str, int] = {}
    for i in ids.index:
        n = seen.get(ids[i], 0)
        seen[ids[i]] = n + 1
        if n:
            ids[i] = f"{ids[i]}-{n + 1}"
    actors["id"] = ids
    actors[ROW] = rows
    actors["doublon_de"] = dup_of
    rep = pd.DataFrame(report, columns=[ROW, "champ", "valeur", "gravite", "motif", "correction"]).sort_values(ROW, kind="stable").reset_index(drop=True)
    reasons = rep[rep["gravite"] == "rejet"].groupby(ROW)["motif"].agg("; ".join)
    rejected = table.loc[rejected_mask, [c for c in table.columns if not c.startswith("__")]].copy()
    rejected.insert(0, ROW, rows[rejected_mask])
    rejected["motif"] = rejected[ROW].map(reasons)
    return ImportResult(
        actors=actors.loc[~rejected_mask].reset_index(drop=True),
        rejected=rejected.reset_index(drop=True),
        report=rep,
        mapping=auto,
        unmapped=[c for c in table.columns if c not in auto and not c.startswith("__")],
        source_name=name,
        parts=list(table.attrs.get("parts", [])),
        part=table.attrs.get("part"),
        part_kind=table.attrs.get("part_kind", "feuille"),
    )


def rejected_csv(result: ImportResult) -> bytes:
    """The rejected rows, with their row number and reason, as CSV for a spreadsheet (UTF-8 with BOM)."""
    return csv_bytes(result.rejected)

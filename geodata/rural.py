"""Rural classification of communes: a documented density approximation and INSEE's official zonings."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geodata.errors import DataFileError

#: Thresholds of the default approximation (see :func:`density_classes`).
URBAN_MIN_DENSITY = 100.0  # inhabitants per km², commune average
URBAN_MIN_POPULATION = 2_000  # the population threshold of INSEE's urban units
DENSE_MIN_DENSITY = 1_500.0  # the "dense cell" threshold of the density grid
DENSE_MIN_POPULATION = 10_000
SPARSE_MAX_DENSITY = 25.0  # below: "habitat très dispersé"


@dataclass(frozen=True)
class RuralDefinition:
    """One way of saying a commune is rural; ``label`` is always shown on screen next to figures."""

    key: str
    label: str
    method: str
    official: bool


DEFINITIONS: dict[str, RuralDefinition] = {
    d.key: d
    for d in (
        RuralDefinition(
            "densite",
            "Rural (approximation par la densité)",
            f"Commune urbaine si densité ≥ {URBAN_MIN_DENSITY:g} hab./km² et population ≥ {URBAN_MIN_POPULATION:,} hab. "
            "(seuils inspirés de la grille communale de densité de l'INSEE et du seuil de 2 000 habitants des unités urbaines) ; "
            "rurale sinon. Calculée sur la population municipale et la superficie de la commune.".replace(",", " "),
            False,
        ),
        RuralDefinition(
            "uu2020",
            "Rural : hors unité urbaine (INSEE, UU2020)",
            "Commune hors unité urbaine dans le zonage en unités urbaines 2020 (code UU2020 se terminant par 000).",
            True,
        ),
        RuralDefinition(
            "aav2020",
            "Rural : hors attraction des villes (INSEE, AAV2020)",
            "Commune de catégorie 30 (hors attraction des villes) dans le zonage en aires d'attraction des villes 2020.",
            True,
        ),
        RuralDefinition(
            "grille",
            "Rural : grille communale de densité (INSEE)",
            "Communes peu denses ou très peu denses de la grille communale de densité : niveaux 5 à 7 de la grille à 7 niveaux "
            "(3 et 4 de la grille à 4 niveaux).",
            True,
        ),
    )
}

DENSITY_CLASSES = ("Urbain dense", "Urbain intermédiaire", "Rural à habitat dispersé", "Rural à habitat très dispersé")


def density_classes(communes: pd.DataFrame) -> pd.DataFrame:
    """Default rural approximation from municipal population and area.

    INSEE's density grid classes 1 km² cells (dense from 1,500 inhabitants per km², intermediate
    from 300) and then communes by where their people live. Without the grid, a commune's average
    density is lower than that of its built-up cells, hence the 100 per km² threshold; the
    2,000-inhabitant floor is that of INSEE's urban units. Returns ``code_insee``, ``densite``,
    ``classe_densite`` and ``rural_densite``.
    """
    area = communes["superficie_km2"].to_numpy(dtype=float)
    pop = communes["population"].to_numpy(dtype=float)
    density = np.divide(pop, area, out=np.zeros_like(pop), where=area > 0)
    dense = (density >= DENSE_MIN_DENSITY) & (pop >= DENSE_MIN_POPULATION)
    urban = (density >= URBAN_MIN_DENSITY) & (pop >= URBAN_MIN_POPULATION)
    classes = np.select(
        [dense, urban, density >= SPARSE_MAX_DENSITY],
        DENSITY_CLASSES[:3],
        default=DENSITY_CLASSES[3],
    )
    return pd.DataFrame(
        {
            "code_insee": communes["code_insee"].to_numpy(),
            "densite": density.round(1),
            "classe_densite": classes,
            "rural_densite": ~urban,
        }
    )


def _pad_code(code: pd.Series) -> pd.Series:
    # Spreadsheet tools strip leading zeros: 9001 -> 09001 (Corsican codes 2A/2B are left alone).
    code = code.astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    return code.where(~code.str.fullmatch(r"\d{1,4}"), code.str.zfill(5))


def _read_table(path: str | Path, *, required: str) -> pd.DataFrame:
    """Read an INSEE table as CSV (cp1252 or UTF-8, ';' or ',') or XLSX, inside a ZIP or not."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"Fichier introuvable : {str(path)!r}. Vérifiez le chemin.")
    data = path.read_bytes()
    name = path.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [m for m in zf.namelist() if m.lower().endswith((".csv", ".xlsx", ".xls"))]
            if not members:
                raise DataFileError(f"L'archive {str(path)!r} ne contient ni CSV ni XLSX.")
            name, data = members[0].lower(), zf.read(members[0])
    if name.endswith((".xlsx", ".xls")):
        raw = pd.read_excel(io.BytesIO(data), header=None, dtype=str)
        header_rows = raw.index[raw.apply(lambda r: r.astype(str).str.strip().str.upper().eq(required).any(), axis=1)]
        if header_rows.empty:
            raise DataFileError(f"Colonne {required!r} introuvable dans {str(path)!r}.")
        h = header_rows[0]
        table = raw.iloc[h + 1 :].copy()
        table.columns = raw.iloc[h].astype(str).str.strip()
        return table.reset_index(drop=True)
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    sep = ";" if text.split("\n", 1)[0].count(";") >= text.split("\n", 1)[0].count(",") else ","
    table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    table.columns = [c.strip() for c in table.columns]
    return table


def _column(table: pd.DataFrame, candidates: tuple[str, ...], path) -> str:
    upper = {c.upper(): c for c in table.columns}
    for cand in candidates:
        if cand.upper() in upper:
            return upper[cand.upper()]
    raise DataFileError(
        f"Aucune des colonnes {list(candidates)!r} dans {str(path)!r} (colonnes lues : {list(table.columns)[:12]!r}). "
        "Fournissez le fichier INSEE d'origine."
    )


def read_zonage_table(path: str | Path) -> pd.DataFrame:
    """Read INSEE's "table d'appartenance géographique des communes" as it comes.

    Returns ``code_insee``, ``uu2020``, ``cateaav2020``, ``rural_uu2020`` and ``rural_aav2020``.
    """
    table = _read_table(path, required="CODGEO")
    code = _column(table, ("CODGEO",), path)
    uu = _column(table, ("UU2020",), path)
    cat = _column(table, ("CATEAAV2020",), path)
    out = pd.DataFrame({"code_insee": _pad_code(table[code])})
    out["uu2020"] = _pad_code(table[uu])
    out["cateaav2020"] = pd.to_numeric(table[cat], errors="coerce").astype("Int64")
    out["rural_uu2020"] = out["uu2020"].str.endswith("000")
    out["rural_aav2020"] = out["cateaav2020"] == 30
    bad = out["code_insee"].str.len() != 5
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise DataFileError(f"Code commune {out['code_insee'][bad].iloc[0]!r} invalide ligne {row} de {str(path)!r}.")
    return out.drop_duplicates("code_insee").reset_index(drop=True)


_GRILLE_LABELS = {
    "grands centres urbains": 1,
    "centres urbains intermédiaires": 2,
    "ceintures urbaines": 3,
    "petites villes": 4,
    "bourgs ruraux": 5,
    "rural à habitat dispersé": 6,
    "rural à habitat très dispersé": 7,
}


def read_grille_densite(path: str | Path) -> pd.DataFrame:
    """Read INSEE's grille communale de densité (7 levels, or 4 levels mapped onto rural yes/no).

    Returns ``code_insee``, ``niveau_grille`` and ``rural_grille``.
    """
    table = _read_table(path, required="CODGEO")
    code = _column(table, ("CODGEO", "COM", "CODE_COMMUNE"), path)
    level = _column(table, ("DENS", "DENS7", "GRD", "GRILLE_DENSITE", "DEGRE_DENSITE", "TYPO_DENS"), path)
    raw = table[level].astype(str).str.strip()
    num = pd.to_numeric(raw, errors="coerce")
    num = num.fillna(raw.str.lower().map(_GRILLE_LABELS))
    four_levels = num.max() <= 4
    out = pd.DataFrame({"code_insee": _pad_code(table[code]), "niveau_grille": num.astype("Int64")})
    out["rural_grille"] = out["niveau_grille"] >= (3 if four_levels else 5)
    return out.drop_duplicates("code_insee").reset_index(drop=True)


def rural_table(communes: pd.DataFrame, *, zonage: pd.DataFrame | None = None, grille: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per commune with a boolean column ``rural_<key>`` per available definition.

    Communes missing from an official table (created after its vintage) keep a missing value.
    """
    out = density_classes(communes)
    if zonage is not None:
        out = out.merge(zonage[["code_insee", "uu2020", "cateaav2020", "rural_uu2020", "rural_aav2020"]], on="code_insee", how="left")
    if grille is not None:
        out = out.merge(grille[["code_insee", "niveau_grille", "rural_grille"]], on="code_insee", how="left")
    return out


def available_definitions(table: pd.DataFrame) -> list[RuralDefinition]:
    return [d for d in DEFINITIONS.values() if f"rural_{d.key}" in table.columns]


def agreement(table: pd.DataFrame, a: str, b: str) -> tuple[float, int]:
    """Share of communes classified alike by two definitions, over communes both classify."""
    left, right = table[f"rural_{a}"], table[f"rural_{b}"]
    known = left.notna() & right.notna()
    if not known.any():
        return float("nan"), 0
    same = left[known].astype(bool).to_numpy() == right[known].astype(bool).to_numpy()
    return float(same.mean()), int(known.sum())

"""Manual placement corrections, kept in the data folder by actor id so that they survive re-imports."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from geodata import number_format
from geodata.errors import DataFileError
from geodata.reference import Reference, communes_at
from geodata.settings import Settings, get_settings

FILE_NAME = "corrections_geocodage.json"


def corrections_path(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return Path(settings.data_dir) / FILE_NAME


def load_corrections(*, settings: Settings | None = None) -> dict[str, dict]:
    """All corrections, ``{actor id: {"longitude", "latitude", "code_insee", "motif", "auteur", "date"}}``."""
    path = corrections_path(settings)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataFileError(f"Fichier de corrections illisible : {str(path)!r} ({exc}). Restaurez-le ou supprimez-le.") from exc
    return data if isinstance(data, dict) else {}


def _write(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1, sort_keys=True)
    os.replace(tmp, path)


def commune_of_point(reference: Reference, lon: float, lat: float) -> dict | None:
    """The commune of the region containing the point (``code_insee``, ``nom``, its outline ``geometry``); None outside Occitanie.

    The same point-in-polygon test as the placement of every actor (:func:`geodata.reference.communes_at`).
    """
    code = communes_at(reference.communes, [float(lon)], [float(lat)]).iloc[0]
    if pd.isna(code):
        return None
    row = reference.communes.loc[reference.communes["code_insee"] == code].iloc[0]
    return {"code_insee": str(code), "nom": str(row["nom"]), "geometry": row.geometry}


def save_correction(
    actor_id: str,
    *,
    reference: Reference,
    longitude: float | None = None,
    latitude: float | None = None,
    code_insee: str | None = None,
    motif: str = "",
    auteur: str = "",
    settings: Settings | None = None,
) -> dict:
    """Record a correction: exact coordinates, or a commune (placed at its representative point).

    Raises
    ------
    DataFileError
        Unknown commune, coordinates missing or outside Occitanie.
    """
    actor_id = str(actor_id).strip()
    if not actor_id:
        raise DataFileError("Identifiant d'acteur vide : la correction ne peut pas être rattachée à un acteur.")
    communes = reference.communes.set_index("code_insee")
    if longitude is not None or latitude is not None:
        if longitude is None or latitude is None:
            raise DataFileError("Donnez la latitude et la longitude ensemble (degrés décimaux WGS 84).")
        lon, lat = float(longitude), float(latitude)
        code = communes_at(reference.communes, [lon], [lat]).iloc[0]
        if pd.isna(code):
            raise DataFileError(
                f"Le point (latitude {lat!r}, longitude {lon!r}) est hors d'Occitanie : vérifiez les valeurs (inversées ?)."
            )
        entry = {"longitude": round(lon, 6), "latitude": round(lat, 6), "code_insee": str(code)}
    elif code_insee:
        code = str(code_insee).strip()
        if code not in communes.index:
            raise DataFileError(f"Commune {code!r} inconnue en Occitanie : choisissez une commune de la liste.")
        entry = {"longitude": float(communes.at[code, "point_lon"]), "latitude": float(communes.at[code, "point_lat"]), "code_insee": code, "commune_seule": True}
    else:
        raise DataFileError("Indiquez des coordonnées ou une commune pour corriger la position.")
    entry.update({"motif": motif, "auteur": auteur, "date": datetime.now(UTC).isoformat(timespec="seconds")})
    data = load_corrections(settings=settings)
    data[actor_id] = entry
    _write(data, corrections_path(settings))
    return entry


def place_text(reference: Reference, longitude=None, latitude=None, code_insee=None) -> str:
    """A place as staff read it: « Blagnac (31069), latitude 43,636500, longitude 1,390000 », or « non localisé »."""
    names = dict(zip(reference.communes["code_insee"], reference.communes["nom"]))
    code = "" if code_insee is None or pd.isna(code_insee) else str(code_insee)
    commune = f"{names[code]} ({code})" if code in names else ""
    try:
        lon, lat = float(longitude), float(latitude)
    except (TypeError, ValueError):
        lon = lat = float("nan")
    if np.isnan(lon) or np.isnan(lat):
        return commune or "non localisé"
    where = f"latitude {number_format.decimal(lat, 6)}, longitude {number_format.decimal(lon, 6)}"
    return f"{commune}, {where}" if commune else f"hors Occitanie, {where}"


def change_message(name: str, before: str, after: str, *, user: str) -> str:
    """What a saved correction changed, in one French sentence (the pages' confirmation)."""
    return f"Position de « {name} » corrigée par {user} : {before} → {after}."


def follow_matches(matches: dict[str, str], *, settings: Settings | None = None) -> int:
    """Let corrections follow rows an import matched to another actor: ``{import id: directory id}``.

    A row matched by name and commune keeps its import id in the import page, where it was
    corrected, while the directory knows the actor under its own id: the correction is copied to
    that id (the import id keeps it too, for the next import of the same file). Returns how many
    were copied.
    """
    if not matches:
        return 0
    data = load_corrections(settings=settings)
    copied = {target: data[source] for source, target in matches.items() if source in data and source != target and data.get(target) != data[source]}
    if copied:
        data.update(copied)
        _write(data, corrections_path(settings))
    return len(copied)


def remove_correction(actor_id: str, *, settings: Settings | None = None) -> bool:
    """Forget the correction of an actor; returns whether there was one."""
    data = load_corrections(settings=settings)
    if data.pop(str(actor_id), None) is None:
        return False
    _write(data, corrections_path(settings))
    return True


def apply_corrections(placed: pd.DataFrame, corrections: dict[str, dict], *, id_column: str = "id") -> pd.DataFrame:
    """Overwrite the placement of corrected actors (columns of :func:`geodata.geocoding.geocode_actors`)."""
    out = placed.copy()
    if not corrections or id_column not in out.columns:
        return out
    hit = out[id_column].astype(str).isin(corrections.keys())
    for i in out.index[hit]:
        c = corrections[str(out.at[i, id_column])]
        out.at[i, "longitude_lieu"] = float(c["longitude"])
        out.at[i, "latitude_lieu"] = float(c["latitude"])
        out.at[i, "geocodage_source"] = "correction"
        out.at[i, "geocodage_precision"] = "manual"
        out.at[i, "geocodage_score"] = np.nan
        out.at[i, "geocodage_code_insee"] = c.get("code_insee", "")
        out.at[i, "geocodage_statut"] = "ok"
        what = "commune choisie" if c.get("commune_seule") else "coordonnées saisies"
        out.at[i, "geocodage_motif"] = f"correction manuelle ({what}, {c.get('date', '')[:10]})" + (f" : {c['motif']}" if c.get("motif") else "")
    return out

"""The territory of an analysis: the official reference plus the optional layers (QPV, official rural zonings), with what is missing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geodata import _http, rural
from geodata import qpv as qpv_mod
from geodata.errors import GeodataError
from geodata.reference import Reference, load_reference
from geodata.settings import Settings, get_settings


@dataclass
class Territory:
    """Reference geography plus the optional layers that could be loaded, and why others could not."""

    reference: Reference
    rural: pd.DataFrame
    qpv: gpd.GeoDataFrame | None
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def communes(self) -> gpd.GeoDataFrame:
        return self.reference.communes

    @property
    def departements(self) -> gpd.GeoDataFrame:
        return self.reference.departements


def _official_copy(settings: Settings, url: str, download: bool, missing: dict, key: str) -> Path | None:
    """Path of the cached copy of an official INSEE file, fetched first when ``download`` is true."""
    name = url.rsplit("/", 1)[-1] or "fichier"
    path = settings.cache_dir / "officiel" / f"{hashlib.sha256(url.encode()).hexdigest()[:8]}-{name}"
    if path.exists():
        return path
    if download:
        try:
            return _http.download_to(url, path, settings=settings)
        except GeodataError as exc:
            missing[key] = str(exc)
    return None


def load_territory(
    *,
    settings: Settings | None = None,
    qpv_path=None,
    qpv_population_path=None,
    zonage_path=None,
    grille_path=None,
    download: bool = False,
) -> Territory:
    """Reference geography with QPV and rural tables; optional layers that fail are reported in ``missing``."""
    settings = settings or get_settings()
    ref = load_reference(settings=settings)
    missing: dict[str, str] = {}
    zonage = grille = None
    zonage_path = zonage_path or settings.zonage_file or _official_copy(settings, settings.zonage_url, download, missing, "zonage")
    grille_path = grille_path or settings.grille_densite_file or _official_copy(settings, settings.grille_densite_url, download, missing, "grille")
    if zonage_path:
        try:
            zonage = rural.read_zonage_table(zonage_path)
        except GeodataError as exc:
            missing["zonage"] = str(exc)
    else:
        missing.setdefault("zonage", "Table d'appartenance INSEE non fournie : CSTI_ZONAGE_FILE, ou `python -m geodata reference --download`.")
    if grille_path:
        try:
            grille = rural.read_grille_densite(grille_path)
        except GeodataError as exc:
            missing["grille"] = str(exc)
    else:
        missing.setdefault("grille", "Grille communale de densité non fournie : CSTI_GRILLE_DENSITE_FILE, ou `python -m geodata reference --download`.")
    qpv = None
    try:
        qpv = qpv_mod.load_qpv(settings=settings, path=qpv_path, population_path=qpv_population_path, download=download)
    except GeodataError as exc:
        missing["qpv"] = str(exc)
    return Territory(ref, rural.rural_table(ref.communes, zonage=zonage, grille=grille), qpv, missing)

"""``python -m geodata geocode INPUT -o OUTPUT``: import, geocode and enrich a file of actors."""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geodata.actors import PRIVATE_FIELDS
from geodata.directory import place_and_enrich
from geodata.errors import DataFileError
from geodata.geocoding import PRECISION_LABELS, SOURCES
from geodata.importing import import_actors, rejected_csv
from geodata.settings import get_settings
from geodata.territory import load_territory
from geodata.writers import csv_bytes, write_bytes, write_layer

HELP = "Importe un fichier d'acteurs, le géocode et l'enrichit (commune, département, QPV, rural) ; format de sortie selon l'extension."
FORMATS = (".geojson", ".gpkg", ".csv")
#: First columns of the output, in this order; the placed commune is ``code_insee``.
LEADING = ["id", "nom", "type_structure", "cercle", "code_insee", "commune_lieu", "code_departement", "code_qp", "distance_qpv_m", "rural",
           "classe_densite", "geocodage_source", "geocodage_precision", "geocodage_score", "geocodage_statut", "geocodage_motif"]


def add_arguments(parser) -> None:
    parser.add_argument("input", metavar="FICHIER", help="fichier d'acteurs (CSV, XLSX, GeoJSON, GeoPackage)")
    parser.add_argument("-o", "--output", required=True, metavar="FICHIER", help="fichier de sortie : .geojson, .gpkg ou .csv")
    parser.add_argument("--feuille", help="feuille du classeur XLSX ou couche du GeoPackage à lire (par défaut la première qui a des colonnes connues)")
    parser.add_argument("--offline", action="store_true", help="sans réseau : cache puis référentiel des communes seulement")
    parser.add_argument("--prive", action="store_true", help="inclure les champs privés (contacts) dans la sortie")
    parser.add_argument("--qpv", help="fichier QPV (sinon CSTI_QPV_FILE)")
    parser.add_argument("--zonage", help="table d'appartenance géographique des communes (INSEE)")


def _for_output(gdf: gpd.GeoDataFrame, *, private: bool) -> gpd.GeoDataFrame:
    out = gdf.rename(columns={"code_insee": "code_insee_declare"}).rename(columns={"code_insee_lieu": "code_insee"})
    if not private:
        out = out.drop(columns=[c for c in PRIVATE_FIELDS if c in out.columns])
    cols = [c for c in LEADING if c in out.columns] + [c for c in out.columns if c not in LEADING and c != "geometry"]
    out = out[[*cols, "geometry"]]
    for col in out.columns:
        if col != "geometry" and str(out[col].dtype) == "boolean":
            # GIS formats have no nullable boolean: true/false when known, else text ("" = unknown).
            out[col] = out[col].astype(bool) if out[col].notna().all() else out[col].map({True: "oui", False: "non"}).fillna("")
    return out


def write_output(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Write placed actors to ``path``; the format follows the extension (CSV gets the placed point as two columns)."""
    if path.suffix.lower() not in FORMATS:
        raise DataFileError(f"Extension de sortie {path.suffix!r} non prise en charge : utilisez .geojson, .gpkg ou .csv.")
    if path.suffix.lower() == ".csv":
        table = pd.DataFrame(gdf.drop(columns="geometry"))
        placed = gdf.geometry.notna()
        table["longitude_lieu"] = [g.x if ok else None for g, ok in zip(gdf.geometry, placed)]  # x = longitude
        table["latitude_lieu"] = [g.y if ok else None for g, ok in zip(gdf.geometry, placed)]
        write_bytes(path, csv_bytes(table))
    else:
        write_layer(gdf, path)


def run(args) -> int:
    settings = get_settings()
    offline = bool(args.offline or settings.offline)
    output = Path(args.output)
    if output.suffix.lower() not in FORMATS:
        raise DataFileError(f"Extension de sortie {output.suffix!r} non prise en charge : utilisez .geojson, .gpkg ou .csv.")
    result = import_actors(args.input, sheet=args.feuille)
    print(f"Import de {args.input} : {result.summary}")
    territory = load_territory(settings=settings, qpv_path=args.qpv, zonage_path=args.zonage)
    for key, why in territory.missing.items():
        if key == "qpv":
            print(f"QPV indisponibles : code_qp et distance_qpv_m resteront vides. {why}")

    def progress(done, total, message):
        print(f"\rGéocodage ({'hors ligne' if offline else 'service national'}) : {done}/{total} adresses", end="", file=sys.stderr, flush=True)

    gdf = place_and_enrich(result.actors, territory, settings=settings, offline=offline, progress=progress)
    print(file=sys.stderr)
    write_output(_for_output(gdf, private=args.prive), output)
    print(f"Écrit : {output} ({len(gdf)} acteurs)")
    stem = output.with_suffix("")
    if len(result.rejected):
        rej = stem.parent / f"{stem.name}_rejets.csv"
        write_bytes(rej, rejected_csv(result))
        print(f"Lignes rejetées à l'import : {len(result.rejected)} -> {rej}")
    review = gdf[gdf["geocodage_statut"] != "ok"]
    if len(review):
        rev = stem.parent / f"{stem.name}_a_verifier.csv"
        cols = ["ligne", "id", "nom", "adresse", "code_postal", "commune", "geocodage_statut", "geocodage_motif"]
        write_bytes(rev, csv_bytes(review[[c for c in cols if c in review.columns]]))
        print(f"Lignes à vérifier ou non localisées : {len(review)} -> {rev}")
    print("Résumé par précision :")
    for value, n in gdf["geocodage_precision"].fillna("").value_counts().items():
        print(f"  {PRECISION_LABELS.get(value, value) or 'non localisé'} ({value or '-'}) : {n}")
    print("Résumé par source :")
    for value, n in gdf["geocodage_source"].fillna("").value_counts().items():
        print(f"  {SOURCES.get(value, value)} ({value or '-'}) : {n}")
    print("Statuts : " + ", ".join(f"{k} {v}" for k, v in gdf["geocodage_statut"].value_counts().items()))
    alerts = int(gdf["alerte_departement"].sum()), int(gdf["alerte_code_postal"].sum())
    print(f"Alertes : département déclaré ≠ lieu {alerts[0]}, code postal ≠ lieu {alerts[1]}")
    return 0

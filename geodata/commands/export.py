"""``python -m geodata export``: write layers to GeoJSON, GeoPackage or CSV, public by default."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyogrio

from geodata import auth
from geodata.directory import load_directory
from geodata.errors import GeodataError
from geodata.export import (
    CRS_METRIC,
    CRS_STORAGE,
    FORMATS,
    LAYERS,
    PRIVATE_SUFFIX,
    build_layers,
    export_layers,
    export_metadata,
    metadata_table,
    to_csv,
    write_gpkg,
)
from geodata.reference import load_reference
from geodata.selection import Selection, select_actors
from geodata.settings import get_settings

HELP = "Exporte des couches (acteurs, Fab Labs, tourisme, départements, communes, QPV…) en GeoJSON, GeoPackage ou CSV."


def add_arguments(parser) -> None:
    parser.add_argument("--layer", action="append", required=True, metavar="NOM",
                        help=f"couche à exporter, répétable ({', '.join(LAYERS)}, ou un NOM de --extra) ; « all » = toutes les couches disponibles")
    parser.add_argument("--format", required=True, choices=FORMATS, help="geojson (une couche), gpkg (plusieurs couches), csv")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="FICHIER", help="fichier produit ; en CSV, .zip = archive avec métadonnées")
    parser.add_argument("--private", action="store_true",
                        help=f"inclure les données personnelles (demande {auth.ENV_USER} et {auth.ENV_PASSWORD} d'un compte équipe)")
    parser.add_argument("--crs", choices=("4326", "2154"), default="4326", help="CRS du GeoPackage : 4326 (WGS 84) ou 2154 (Lambert-93)")
    parser.add_argument("--sep", choices=(";", ","), default=";", metavar="SEP", help="séparateur CSV : « ; » (défaut, tableurs français, virgule décimale) ou « , »")
    parser.add_argument("--departement", action="append", metavar="CODE", help="ne garder que les acteurs de ce département (répétable)")
    parser.add_argument("--epci", action="append", metavar="SIREN", help="ne garder que les acteurs de cette intercommunalité (SIREN de l'EPCI, répétable)")
    parser.add_argument("--famille", action="append", metavar="FAMILLE", help="ne garder que cette famille d'acteurs (cercle1, fablab…)")
    parser.add_argument("--qpv", help="fichier QPV (sinon celui des réglages CSTI_QPV_FILE)")
    parser.add_argument("--qpv-population", help="tableau INSEE de population par QPV")
    parser.add_argument("--qpv-coverage", help="table CSV de couverture des QPV (colonne code_qp) à joindre à la couche qpv")
    parser.add_argument("--extra", action="append", default=[], metavar="NOM=FICHIER", help="couche supplémentaire (zones blanches…) lue depuis un fichier vectoriel")


def _private_path(path: Path) -> Path:
    return path if PRIVATE_SUFFIX.strip("-") in path.stem.upper() else path.with_name(f"{path.stem}{PRIVATE_SUFFIX}{path.suffix}")


def _extra_layers(items: list[str]) -> dict:
    extra = {}
    for item in items:
        name, sep, file = item.partition("=")
        if not sep or not name or not file:
            raise GeodataError(f"--extra {item!r} : attendu NOM=FICHIER (ex. zones_blanches=zones.gpkg).")
        try:
            extra[name] = pyogrio.read_dataframe(file)
        except (OSError, pyogrio.errors.DataSourceError) as exc:
            raise GeodataError(f"--extra {item!r} : fichier illisible ({exc}). Vérifiez le chemin et le format.") from exc
    return extra


def run(args) -> int:
    user = auth.staff_from_environment() if args.private else None
    settings = get_settings()
    reference = load_reference(settings=settings)
    epci = tuple(str(c).strip() for c in args.epci or ())
    unknown = sorted(set(epci) - set(reference.epci["code_epci"].astype(str))) if reference.epci is not None else []
    if unknown:
        raise GeodataError(f"--epci {unknown[0]!r} : intercommunalité inconnue en Occitanie. Donnez le SIREN de l'EPCI à 9 chiffres "
                           "(ex. 243100518 pour Toulouse Métropole ; la couche epci les liste).")
    wanted = Selection(departements=tuple(args.departement or ()), epci=epci, families=tuple(args.famille or ()))
    actors = select_actors(load_directory(settings=settings, reference=reference), wanted)
    extra = _extra_layers(args.extra)
    names = [n for layer in args.layer for n in ([*LAYERS, *extra] if layer == "all" else [layer])]
    qpv = coverage = None
    if "qpv" in names:
        from geodata.territory import load_territory

        terr = load_territory(settings=settings, qpv_path=args.qpv, qpv_population_path=args.qpv_population)
        qpv = terr.qpv
        if qpv is None and args.layer == ["all"]:
            names.remove("qpv")
            print(f"Couche qpv omise : {terr.missing.get('qpv', 'aucun fichier QPV')}", file=sys.stderr)
        elif qpv is None:
            raise GeodataError(f"Couche 'qpv' indisponible : {terr.missing.get('qpv', 'aucun fichier QPV')}")
        if args.qpv_coverage:
            coverage = pd.read_csv(args.qpv_coverage, sep=None, engine="python", dtype={"code_qp": str})
    layers = build_layers(names, actors=actors, reference=reference, qpv=qpv, qpv_coverage=coverage, extra=extra, private=args.private)
    out = _private_path(args.output) if args.private else args.output
    out.parent.mkdir(parents=True, exist_ok=True)
    crs = CRS_METRIC if args.crs == "2154" else CRS_STORAGE
    if args.format == "gpkg":
        write_gpkg(layers, out, metadata=export_metadata(layers, private=args.private, crs=crs, requested_by=user or "", population=reference.population_label), crs=crs)
    elif args.format == "csv" and out.suffix.lower() != ".zip":
        if len(layers) != 1:
            raise GeodataError(f"{len(layers)} couches en CSV : donnez un fichier .zip (-o export.zip) ou une seule --layer.")
        out.write_bytes(to_csv(next(iter(layers.values())), sep=args.sep))
        sidecar = out.with_name(f"{out.stem}-metadonnees.csv")
        sidecar.write_bytes(to_csv(metadata_table(export_metadata(layers, private=args.private, requested_by=user or "", population=reference.population_label)), sep=args.sep))
        print(f"Métadonnées : {sidecar}")
    else:
        out.write_bytes(export_layers(layers, args.format, private=args.private, sep=args.sep, requested_by=user or "",
                                     population=reference.population_label).data)
    counts = ", ".join(f"{name} ({len(layer)})" for name, layer in layers.items())
    print(f"Écrit : {out} — {counts}")
    if args.private:
        print(f"Export PRIVÉ demandé par {user} : contient des données personnelles, ne pas diffuser.")
    return 0

"""``python -m geodata import FILE [--publish]``: import a survey file into the directory, as one batch that can be undone."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from geodata.directory import place_and_enrich
from geodata.errors import DataFileError
from geodata.importing import import_actors
from geodata.publishing import GROUPS, PLURALS, apply_plan, batch_report, plan_import
from geodata.settings import get_settings
from geodata.store import default_store
from geodata.territory import load_territory
from geodata.writers import write_bytes

HELP = ("Importe un fichier d'acteurs dans l'annuaire : validation, règle régionale, géocodage, puis ce qui changerait "
        "(nouveaux, mis à jour, inchangés, écartés) ; --publish l'enregistre en un lot annulable (--annuler N).")


def add_arguments(parser) -> None:
    parser.add_argument("input", nargs="?", metavar="FICHIER", help="fichier d'acteurs (CSV, XLSX, GeoJSON, GeoPackage)")
    parser.add_argument("--publish", action="store_true", help="enregistrer dans l'annuaire (sinon : seulement montrer ce qui changerait)")
    parser.add_argument("--feuille", help="feuille du classeur XLSX ou couche du GeoPackage à lire")
    parser.add_argument("--garder", type=int, nargs="*", default=[], metavar="LIGNE",
                        help="numéros de lignes hors Occitanie à garder délibérément")
    parser.add_argument("--en-ligne", action="store_true", help="interroger le service national d'adresses (sinon : cache et communes, sans réseau)")
    parser.add_argument("--rapport", help="écrire le rapport du lot (une ligne par ligne du fichier) dans ce fichier CSV")
    parser.add_argument("--auteur", help="auteur inscrit dans l'historique (par défaut : l'utilisateur du système)")
    parser.add_argument("--annuler", type=int, metavar="LOT", help="annuler le lot d'import n° LOT (au lieu d'importer)")


def _author(args) -> str:
    return args.auteur or f"ligne de commande ({getpass.getuser()})"


def run(args) -> int:
    settings = get_settings()
    store = default_store(settings)
    if args.annuler is not None:
        undone = store.revert_batch(args.annuler, user=_author(args))
        print(f"Lot n° {args.annuler} annulé : {undone} changements défaits.")
        return 0
    if not args.input:
        raise DataFileError("Indiquez le fichier à importer (python -m geodata import FICHIER), ou --annuler LOT.")
    territory = load_territory(settings=settings)
    result = import_actors(args.input, sheet=args.feuille, reference=territory.reference, keep_outside=args.garder)
    print(f"Import de {args.input} : {result.summary}")
    offline = not args.en_ligne or settings.offline

    def progress(done, total, message):
        print(f"\rGéocodage ({'hors ligne' if offline else 'service national'}) : {done}/{total} adresses", end="", file=sys.stderr, flush=True)

    placed = place_and_enrich(result.actors, territory, settings=settings, offline=offline, progress=progress)
    print(file=sys.stderr)
    print(f"Géocodage : {int(placed.geometry.notna().sum())} placés sur {len(placed)}, {int((placed['geocodage_statut'] != 'ok').sum())} à vérifier.")
    plan = plan_import(store, result)
    print_plan(plan)
    if args.rapport:
        print(f"Rapport du lot : {write_bytes(Path(args.rapport), batch_report(plan))}")
    if not args.publish:
        print("Rien n'est enregistré : relancez avec --publish pour enregistrer dans l'annuaire.")
        return 0
    batch = apply_plan(store, plan, user=_author(args))
    if batch is None:
        print("Rien à enregistrer : l'annuaire contient déjà ce fichier tel quel.")
    else:
        print(f"Enregistré dans l'annuaire : lot n° {batch} par {_author(args)} (annulable : python -m geodata import --annuler {batch}).")
    return 0


def print_plan(plan) -> None:
    """The batch report as text: the groups and their total, then the field changes."""
    print(f"Enregistrement dans l'annuaire : {plan.summary()}")
    for group in GROUPS:
        print(f"  {PLURALS[group]} : {plan.counts[group]}")
    for row in plan.diffs.itertuples():
        print(f"  {row.nom} ({row.id}) — {row.champ} : « {row.avant} » → « {row.après} »")

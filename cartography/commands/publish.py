"""``python -m geodata publish -o DIR``: the public map as a static site (HTML, GeoJSON, assets)."""

from __future__ import annotations

from pathlib import Path

HELP = "Publie la carte publique en site statique (HTML, GeoJSON, fichiers Leaflet), champs publics seulement."


def add_arguments(parser) -> None:
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="DOSSIER", help="dossier de sortie (créé au besoin)")
    parser.add_argument("--titre", default=None, help="titre de la page")


def run(args) -> int:
    from cartography.publish import TITLE, publish_site, sample_note
    from geodata.directory import load_directory
    from geodata.reference import load_reference
    from geodata.settings import get_settings

    settings = get_settings()
    ref = load_reference(settings=settings)
    actors = load_directory(settings=settings, reference=ref)
    pub = publish_site(args.output, actors, ref.departements, ref.communes, title=args.titre or TITLE, codes_postaux=ref.codes_postaux,
                       note=sample_note(actors, settings), settings=settings)
    print(f"Site publié dans {pub.directory} : {pub.placed} acteurs sur la carte ({pub.actors} dans l'annuaire).")
    for f in pub.files:
        print(f"  {f.name}  {f.stat().st_size / 1024:.0f} Kio")
    if pub.placed < pub.actors:
        print(f"  {pub.actors - pub.placed} acteurs sans localisation figurent dans acteurs.geojson et acteurs.csv mais pas sur la carte.")
    print("Servez ce dossier tel quel (tout serveur web) ; intégration : <iframe src=\".../index.html\" ...>.")
    return 0

"""``python -m geodata rapport --territoire 81 -o tarn.pdf``: the territory report as PDF, and its map as PNG."""

from __future__ import annotations

from pathlib import Path

HELP = (
    "Rapport de territoire (groupe G5) pour la région, un département ou une intercommunalité : PDF avec carte, chiffres clés en "
    "fourchettes, où agir ensuite, tableaux, méthode et sources ; la carte seule en PNG avec --png."
)


def add_arguments(parser) -> None:
    from geodata.commands.coverage import add_analysis_arguments

    parser.add_argument("--territoire", help="76 (région Occitanie), un code de département (81) ou le SIREN d'une intercommunalité")
    parser.add_argument("-o", "--output", type=Path, metavar="FICHIER", help="fichier PDF à écrire (ex. tarn.pdf)")
    parser.add_argument("--png", type=Path, help="écrit aussi la carte seule en PNG (ex. tarn.png)")
    parser.add_argument("--liste", action="store_true", help="affiche les territoires possibles (codes et noms) et s'arrête")
    add_analysis_arguments(parser)


def run(args) -> int:
    from cartography.report import report_pdf, scope_of, scopes, territory_report
    from cartography.report_map import territory_png
    from geodata.commands.coverage import analysis_from_args
    from geodata.coverage_text import headline_value
    from geodata.directory import directory_source
    from geodata.errors import GeodataError
    from geodata.reference import load_reference
    from geodata.writers import write_bytes

    if args.liste:
        for code, scope in scopes(load_reference()).items():
            print(f"{code}\t{scope.label}")
        return 0
    if not args.territoire:
        raise GeodataError(
            "Indiquez le territoire du rapport : --territoire 76 (région), 81 (un département) ou le SIREN d'un EPCI (la liste : --liste)."
        )
    if args.output is None and args.png is None:
        raise GeodataError("Indiquez où écrire le rapport : -o rapport.pdf (et/ou --png carte.png).")
    for path, suffix in ((args.output, ".pdf"), (args.png, ".png")):
        if path is not None and path.suffix.lower() != suffix:
            raise GeodataError(f"Le fichier {str(path)!r} doit finir par {suffix} : le rapport s'écrit en PDF, la carte en PNG.")
    scope = scope_of(args.territoire, load_reference())  # a wrong code stops here, before the analysis
    terr, analysis = analysis_from_args(args)
    report = territory_report(analysis, terr.reference, scope, k=args.k, directory_label=directory_source()[0])
    if args.output is not None:
        write_bytes(args.output, report_pdf(report))
        print(f"Rapport « {report.title} » -> {args.output}")
    if args.png is not None:
        write_bytes(args.png, territory_png(report))
        print(f"Carte -> {args.png}")
    figure = headline_value(report.summary, "population_rurale_hors_portee")
    print(f"Habitants ruraux hors de portée : {figure} ; étapes proposées : {len(report.steps)}")
    return 0

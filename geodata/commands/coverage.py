"""``python -m geodata coverage``: coverage gaps of rural communes and QPV, exported as GeoJSON or CSV."""

from __future__ import annotations

from pathlib import Path

from geodata import coverage as cv
from geodata import coverage_text, number_format, rural
from geodata.actors import CIRCLES, FAMILIES
from geodata.directory import load_directory
from geodata.errors import GeodataError
from geodata.settings import get_settings
from geodata.territory import Territory, load_territory
from geodata.writers import write_bytes

HELP = "Analyse de couverture (groupe G5) : communes rurales et QPV hors de portée, où agir ensuite ; export GeoJSON ou CSV."

FORMATS = {".geojson": "geojson", ".json": "geojson", ".csv": "csv"}


def _list(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def add_arguments(parser) -> None:
    parser.add_argument(
        "-o", "--output", required=True, metavar="FICHIER", help="fichier de sortie .geojson ou .csv (une couche ; toutes : FICHIER_couche.ext)"
    )
    parser.add_argument(
        "--couche", default="toutes", choices=["toutes", *cv.LAYERS], help="couche à exporter (défaut : toutes, un fichier par couche)"
    )
    add_analysis_arguments(parser)


def add_analysis_arguments(parser) -> None:
    """The analysis' parameters and layers, shared by every command that runs it (``coverage``, the report's ``rapport``)."""
    parser.add_argument("--cercles", type=_list, help=f"cercles comptés, séparés par des virgules (parmi {', '.join(map(str, CIRCLES))})")
    parser.add_argument("--types", type=_list, help="types de structure comptés, séparés par des virgules")
    parser.add_argument("--familles", type=_list, help=f"familles comptées, séparées par des virgules (parmi {', '.join(FAMILIES)})")
    parser.add_argument(
        "--portee-rurale", type=float, default=cv.DEFAULT_RURAL_REACH_KM, help="portée pour les communes rurales, km (défaut %(default)s)"
    )
    parser.add_argument("--portee-qpv", type=float, default=cv.DEFAULT_QPV_REACH_KM, help="portée pour les QPV, km (défaut %(default)s)")
    parser.add_argument("--rural", default=cv.Params.rural_definition, choices=sorted(rural.DEFINITIONS), help="définition du rural (défaut %(default)s)")
    parser.add_argument(
        "--detour", type=float, default=cv.Params.detour_factor, help="facteur de détour appliqué au vol d'oiseau (1 à 3, défaut %(default)s)"
    )
    parser.add_argument("-k", type=int, default=10, help="nombre de sites proposés par « où agir ensuite » (défaut %(default)s)")
    parser.add_argument(
        "--poids-qpv",
        type=float,
        default=cv.Params.qpv_weight,
        help="poids de la population des QPV face à la population rurale, 0 à 1 (défaut %(default)s)",
    )
    parser.add_argument(
        "--sans-itinerance",
        action="store_true",
        help="ne pas compter les zones d'intervention des offres itinérantes (champ zone_intervention) : la distance seule",
    )
    parser.add_argument("--site", action="append", default=[], help="site hypothétique : code INSEE (31555) ou LON,LAT[,NOM] ; répétable")
    parser.add_argument("--qpv", help="fichier QPV (GeoJSON, Shapefile zippé, GeoPackage)")
    parser.add_argument("--qpv-population", help="tableau INSEE de population par QPV (ex. DEMO_2022.csv)")
    parser.add_argument("--zonage", help="table d'appartenance géographique des communes (INSEE), pour --rural uu2020 ou aav2020")
    parser.add_argument("--grille", help="grille communale de densité (INSEE), pour --rural grille")


def _outputs(output: Path, layer: str, available: dict) -> dict[str, Path]:
    if layer != "toutes":
        return {layer: output}
    return {name: output.with_name(f"{output.stem}_{name}{output.suffix}") for name in available}


def _pct(value: float) -> str:
    return number_format.percent(value)


def analysis_from_args(args) -> tuple[Territory, cv.Analysis]:
    """The territory and the coverage analysis that the arguments of :func:`add_analysis_arguments` ask for."""
    params = cv.Params(
        rural_reach_km=args.portee_rurale,
        qpv_reach_km=args.portee_qpv,
        rural_definition=args.rural,
        detour_factor=args.detour,
        circles=tuple(int(c) for c in args.cercles) if args.cercles else None,
        types=args.types or None,
        families=args.familles or None,
        qpv_weight=args.poids_qpv,
        itinerant=not args.sans_itinerance,
    ).validate()
    settings = get_settings()
    terr = load_territory(
        settings=settings, qpv_path=args.qpv, qpv_population_path=args.qpv_population, zonage_path=args.zonage, grille_path=args.grille
    )
    demand = cv.demand_from_territory(terr)
    hypothetical = cv.Sites.empty()
    for text in args.site:
        hypothetical = hypothetical + cv.parse_site(text, demand)
    return terr, cv.analyse(demand, load_directory(settings=settings, territory=terr), params, hypothetical=hypothetical, k=args.k)


def run(args) -> int:
    output = Path(args.output)
    fmt = FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise GeodataError(f"Extension de sortie {output.suffix!r} inconnue pour {str(output)!r} : utilisez .geojson ou .csv.")
    _, analysis = analysis_from_args(args)
    demand, params, hypothetical = analysis.demand, analysis.params, analysis.hypothetical
    layers = analysis.layers
    if args.couche != "toutes" and args.couche not in layers:
        why = demand.qpv_missing or "couche absente"
        raise GeodataError(f"La couche {args.couche!r} n'est pas disponible : {why}")
    for name, path in _outputs(output, args.couche, layers).items():
        write_bytes(path, cv.to_bytes(layers[name], fmt))
        print(f"{name} : {len(layers[name])} lignes -> {path}")
    s = analysis.coverage.summary()
    print(f"Acteurs comptés : {len(analysis.counted)} ; sites hypothétiques : {len(hypothetical)}")
    value = coverage_text.headline_value
    print(
        f"Communes rurales hors de portée : {value(s, 'communes_rurales_hors_portee')} sur {s['communes_rurales']} ; "
        f"habitants ruraux hors de portée : {value(s, 'population_rurale_hors_portee')} "
        f"(d'après le point de chaque acteur : {s['population_rurale_hors_portee']}) ; "
        f"part de la population rurale à portée : {_pct(s['part_population_rurale_a_portee'])}"
    )
    if "qpv" in s:
        print(
            f"QPV hors de portée : {value(s, 'qpv_hors_portee')} sur {s['qpv']} ; habitants : {value(s, 'population_qpv_hors_portee')} "
            f"(d'après le point de chaque acteur : {s['population_qpv_hors_portee']}) ; "
            f"part de la population des QPV à portée : {_pct(s['part_population_qpv_a_portee'])}"
        )
    else:
        print(f"QPV non calculés : {demand.qpv_missing}")
    print(coverage_text.precision_note(len(analysis.counted), analysis.coverage.n_commune_level))
    for note in coverage_text.method_notes(demand, params, analysis.coverage):
        print(f"Méthode : {note}")
    return 0

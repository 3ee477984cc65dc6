"""French text shown beside the coverage figures (slider help, method notes), kept out of the computation."""

from __future__ import annotations

import pandas as pd

from geodata import number_format as nf
from geodata import rural as rural_mod
from geodata.coverage import Coverage, Demand, Params, itinerant_summary
from geodata.number_format import short as _km

#: Detour factors found in the literature for French roads: about 1.2 to 1.4 (1.3 typical in rural areas).
DETOUR_HELP = (
    "La distance est mesurée à vol d'oiseau puis multipliée par le facteur de détour, qui approche le trajet réel "
    "par la route : 1,0 = vol d'oiseau ; 1,3 = valeur typique en zone rurale (les études françaises trouvent 1,2 à 1,4)."
)

#: Help of the page's toggle « Compter les offres itinérantes ».
ITINERANT_HELP = (
    "Un tiers-lieu mobile ou une exposition itinérante déclare sa zone d'intervention (communes, intercommunalités, départements) : "
    "ses communes et leurs QPV comptent alors comme à portée, quelle que soit la distance. Désactivé : seule la distance compte. "
    "Inactif quand aucun acteur ne déclare de zone (page Édition, ou colonne « Zone d'intervention » à l'import)."
)


def declares_zones(actors: pd.DataFrame) -> bool:
    """Whether any actor of the directory declares an intervention zone (the page's toggle is then on by default)."""
    return "zone_intervention" in actors.columns and bool(actors["zone_intervention"].fillna("").astype(str).str.strip().ne("").any())


def method_notes(demand: Demand, params: Params, coverage: Coverage | None = None) -> list[str]:
    """What every figure rests on, in French, to show beside the figures (with ``coverage``, what itinerant offers add)."""
    definition = rural_mod.DEFINITIONS[params.rural_definition]
    rural_note = f"Définition du rural : {definition.label}. {definition.method}"
    key = f"rural_{params.rural_definition}"
    unknown = int(demand.communes[key].isna().sum()) if key in demand.communes.columns else 0
    if unknown:
        rural_note += f" {unknown} communes absentes de la table officielle sont comptées comme non rurales."
    detour = "à vol d'oiseau" if params.detour_factor == 1 else f"à vol d'oiseau × {_km(params.detour_factor)} (facteur de détour)"
    notes = [
        f"Population municipale : {demand.population_label or demand.population_year or '?'} ; point de chaque commune : mairie, "
        "sinon un point intérieur de la commune.",
        rural_note,
        f"Distance {detour} vers l'acteur compté le plus proche ; portée : {_km(params.rural_reach_km)} km pour les communes rurales, "
        f"{_km(params.qpv_reach_km)} km pour les QPV (distance au contour du quartier, 0 quand l'acteur est dedans).",
    ]
    notes.append(PRECISION_METHOD)
    if demand.has_qpv:
        gens = ", ".join(sorted(demand.qpv["generation"].astype(str).unique()))
        known = int(demand.qpv["population"].notna().sum())
        notes.append(f"QPV : génération {gens}, {len(demand.qpv)} quartiers ; population INSEE connue pour {known} d'entre eux.")
    else:
        notes.append("QPV : couche indisponible, seule la partie rurale est calculée.")
    if coverage is not None and (note := itinerant_note(coverage)):
        notes.append(note)
    return notes


def itinerant_note(coverage: Coverage) -> str:
    """How many counted actors declare an intervention zone, and what their zones alone put within reach ("" when none does)."""
    n = coverage.n_itinerant
    if not n:
        return ""
    who = f"{nf.integer(n)} acteur{'s' if n > 1 else ''} compté{'s' if n > 1 else ''} déclare{'nt' if n > 1 else ''} une zone d'intervention"
    if not coverage.params.itinerant:
        return f"Offres itinérantes : {who}, non comptée{'s' if n > 1 else ''} ici (réglage « Compter les offres itinérantes ») : les chiffres ne reposent que sur la distance."
    only = itinerant_summary(coverage) or {}
    rural = only.get("communes_rurales", 0)
    reached = (
        f"{nf.integer(rural)} commune{'s' if rural > 1 else ''} rurale{'s' if rural > 1 else ''} "
        f"({nf.integer(only.get('population_rurale', 0))} habitants)"
    )
    if "qpv" in only:
        reached += f" et {nf.integer(only['qpv'])} QPV ({nf.integer(only['population_qpv'])} habitants)"
    return (
        f"Offres itinérantes : {who} (communes, intercommunalités ou départements où elles se rendent) ; les communes de ces zones et "
        f"les QPV qu'elles contiennent comptent comme à portée, quelle que soit la distance. Seules ces zones mettent à portée {reached}."
    )


#: Shown instead of the QPV figures when the layer is missing (the technical reason goes to the staff, not here).
QPV_MISSING = (
    "La couche des quartiers prioritaires n'est pas chargée : seule la partie rurale est calculée. "
    "L'équipe du réseau peut l'ajouter depuis la page « Géographie de référence » de l'espace équipe "
    "(fichier officiel des QPV)."
)

#: Where the uncertainty of the figures comes from and how to reduce it.
PRECISION_METHOD = (
    "Un acteur placé seulement à sa commune peut se trouver n'importe où dans celle-ci : sa distance à un lieu va du point de "
    "sa commune le plus proche au plus éloigné. Un lieu est « à portée » s'il l'est où que soit l'acteur dans sa commune, "
    "« hors de portée » s'il ne l'est nulle part, « incertain » sinon. Les positions à l'adresse (numéro, rue, lieu-dit), "
    "corrigées à la main ou données par le fichier comptent comme des points."
)


def precision_note(n_counted: int, n_commune_level: int) -> str:
    """How many counted actors are known only at their commune, and how to narrow the ranges."""
    if n_commune_level == 0:
        return "Tous les acteurs comptés sont placés à leur adresse ou à la main : les chiffres ne sont pas des fourchettes."
    share = nf.percent(n_commune_level / n_counted, 0) if n_counted else nf.MISSING
    return (
        f"{nf.integer(n_commune_level)} des {nf.integer(n_counted)} acteurs comptés ({share}) ne sont placés qu'à leur commune : "
        "les chiffres sont donc des fourchettes. Pour les resserrer, géocodez ces acteurs à leur adresse (page Import) "
        "ou corrigez leur position à la main (page Édition)."
    )


def headline_value(summary: dict, key: str) -> str:
    """A headline count as a range (surely out of reach … perhaps out of reach), or one figure when they agree."""
    if f"{key}_min" not in summary:
        return nf.integer(summary[key])
    return nf.between(summary[f"{key}_min"], summary[f"{key}_max"])


#: The headline figures, by group: (label, key of the summary, the total it is read against).
HEADLINES = {
    "rural": [
        ("Communes rurales hors de portée", "communes_rurales_hors_portee", "communes_rurales"),
        ("Habitants ruraux hors de portée", "population_rurale_hors_portee", "population_rurale"),
        ("Part de la population rurale à portée", "part_population_rurale_a_portee", "population_rurale"),
    ],
    "qpv": [
        ("QPV hors de portée", "qpv_hors_portee", "qpv"),
        ("Habitants des QPV hors de portée", "population_qpv_hors_portee", "population_qpv"),
        ("Part de la population des QPV à portée", "part_population_qpv_a_portee", "population_qpv"),
    ],
}


def headline_figure(summary: dict, key: str, total: str) -> tuple[str, str]:
    """One headline figure of :data:`HEADLINES` as shown (a range), and as the actors' own points give it.

    A count of places reads against its total (« entre 40 et 52 / 1 953 »); a share reached runs from « every
    uncertain place out of reach » to « every uncertain place reached ».
    """
    if key.startswith("part_"):
        people = key.removeprefix("part_").replace("_a_portee", "_hors_portee")
        whole = summary[total]
        low, high = (nf.percent((whole - summary[f"{people}_{end}"]) / whole) if whole else nf.MISSING for end in ("max", "min"))
        return nf.between(low, high, fmt=str), nf.percent(summary[key])
    value = headline_value(summary, key)
    if not key.startswith("population"):
        value += f" / {nf.integer(summary[total])}"
    return value, nf.integer(summary[key])


def _score_help(params: Params) -> str:
    w = params.qpv_weight
    return (
        f"Score de l'étape = {nf.short(round(1 - w, 2))} × habitants ruraux nouvellement à portée + {nf.short(w)} × habitants des "
        "QPV nouvellement à portée (réglage « Poids des QPV face au rural ») : il classe les étapes, la première apporte le plus."
    )


#: Column -> (French header, explanation, format): "int" whole number, "km" distance, "pct" share, "text".
COLUMNS = {
    "nom": ("Nom", "Nom officiel (commune ou intercommunalité).", "text"),
    "code_insee": ("Code commune", "Code officiel géographique de l'INSEE.", "text"),
    "code_departement": ("Département", "Code du département.", "text"),
    "code_epci": ("Code EPCI", "Numéro SIREN de l'intercommunalité.", "text"),
    "nom_epci": ("Intercommunalité", "Intercommunalité (EPCI) de la commune.", "text"),
    "type_epci": ("Type", "Métropole (ME), communauté urbaine (CU), d'agglomération (CA) ou de communes (CC).", "text"),
    "hors_region": ("Déborde la région", "Oui : l'intercommunalité a des communes hors d'Occitanie ; seule sa partie en Occitanie est comptée.", "bool"),
    "population": ("Habitants", "Population municipale officielle.", "int"),
    "distance_km": ("Distance (km)", "Distance à l'acteur compté le plus proche, d'après le point de chaque acteur (× facteur de détour).", "km"),
    "distance_min_km": ("Distance au mieux (km)", "Si chaque acteur placé à sa commune était au point de sa commune le plus proche.", "km"),
    "distance_max_km": ("Distance au pire (km)", "Si chaque acteur placé à sa commune était au point de sa commune le plus éloigné.", "km"),
    "portee": ("Verdict", "À portée où que soient les acteurs dans leur commune, hors de portée partout, ou incertain.", "text"),
    "site_le_plus_proche": ("Acteur le plus proche", "Acteur compté (ou site hypothétique) le plus proche du point de la commune.", "text"),
    "nom_qp": ("Quartier", "Nom du quartier prioritaire de la politique de la ville.", "text"),
    "code_qp": ("Code QPV", "Code officiel du quartier.", "text"),
    "communes": ("Communes", "Commune(s) du quartier.", "text"),
    "nb_acteurs_dedans": ("Acteurs dans le quartier", "Acteurs comptés situés dans le contour du quartier.", "int"),
    "acteurs_dedans": ("Lesquels", "Noms des acteurs situés dans le quartier.", "text"),
    "offres_itinerantes": ("Offres itinérantes", "Acteurs dont la zone d'intervention déclarée couvre ce lieu : il compte comme à portée.", "text"),
    "itinerance_seule": ("Par l'itinérance seule", "Oui : hors de portée à la distance de l'acteur le plus proche, à portée par une zone d'intervention.", "bool"),
    "communes_rurales": ("Communes rurales", "Nombre de communes rurales (définition choisie).", "int"),
    "communes_rurales_hors_portee": ("Communes rurales hors de portée", "D'après le point de chaque acteur.", "int"),
    "population_rurale": ("Habitants ruraux", "Population des communes rurales.", "int"),
    "population_rurale_hors_portee": ("Ruraux hors de portée", "Habitants des communes rurales hors de portée, d'après le point de chaque acteur.", "int"),
    "population_rurale_hors_portee_min": ("Ruraux hors de portée (au moins)", "Communes hors de portée où que soient les acteurs dans leur commune.", "int"),
    "population_rurale_hors_portee_max": ("Ruraux hors de portée (au plus)", "Communes hors de portée ou incertaines.", "int"),
    "part_population_rurale_a_portee": ("Part des ruraux à portée", "Part de la population rurale à portée, d'après le point de chaque acteur.", "pct"),
    "qpv": ("QPV", "Nombre de quartiers prioritaires.", "int"),
    "qpv_hors_portee": ("QPV hors de portée", "D'après le point de chaque acteur.", "int"),
    "population_qpv": ("Habitants des QPV", "Population INSEE des quartiers (inconnue pour certains).", "int"),
    "population_qpv_hors_portee": ("Habitants des QPV hors de portée", "D'après le point de chaque acteur.", "int"),
    "population_qpv_hors_portee_min": ("Habitants des QPV hors de portée (au moins)", "Quartiers hors de portée où que soient les acteurs.", "int"),
    "population_qpv_hors_portee_max": ("Habitants des QPV hors de portée (au plus)", "Quartiers hors de portée ou incertains.", "int"),
    "part_population_qpv_a_portee": ("Part des habitants des QPV à portée", "D'après le point de chaque acteur.", "pct"),
    "qpv_population_inconnue": ("QPV sans population connue", "Quartiers dont l'INSEE ne publie pas la population.", "int"),
    "etape": ("Étape", "Ordre des propositions : chaque étape tient compte des précédentes.", "int"),
    "gain_score": ("Score", "", "int"),
    "gain_population_rurale": ("Ruraux gagnés", "Habitants ruraux mis à portée par cette étape.", "int"),
    "gain_communes_rurales": ("Communes rurales gagnées", "Communes rurales mises à portée par cette étape.", "int"),
    "gain_population_qpv": ("Habitants des QPV gagnés", "Habitants des QPV mis à portée par cette étape.", "int"),
    "gain_qpv": ("QPV gagnés", "Quartiers mis à portée par cette étape.", "int"),
    "qpv_couverts": ("Quartiers gagnés", "Codes des quartiers mis à portée.", "text"),
    "cumul_population_rurale": ("Ruraux gagnés (cumul)", "Total des étapes jusqu'à celle-ci.", "int"),
    "cumul_population_qpv": ("Habitants des QPV gagnés (cumul)", "Total des étapes jusqu'à celle-ci.", "int"),
    "lon": ("Longitude", "Degrés décimaux (WGS 84).", "deg"),
    "lat": ("Latitude", "Degrés décimaux (WGS 84).", "deg"),
}

#: The figures of a territory's row (:meth:`geodata.coverage.Coverage.by_department` and ``by_epci``), as the page shows them.
TERRITORY_FIGURES = (
    "communes_rurales_hors_portee", "population_rurale_hors_portee_min", "population_rurale_hors_portee_max",
    "part_population_rurale_a_portee", "qpv_hors_portee", "population_qpv_hors_portee_min", "population_qpv_hors_portee_max",
)  # fmt: skip

#: The columns each table of the page shows, in order (the exports keep every column, with their codes as names).
TABLES = {
    "communes_rurales_hors_portee": ["nom", "nom_epci", "population", "distance_min_km", "distance_max_km", "portee", "site_le_plus_proche"],
    "qpv": ["nom_qp", "communes", "population", "portee", "distance_min_km", "distance_max_km", "nb_acteurs_dedans", "acteurs_dedans"],
    # One table per territory level: the same figures per department and per intercommunality (the EPCI says its type).
    "departements": ["nom", *TERRITORY_FIGURES],
    "epci": ["nom", "type_epci", "hors_region", *TERRITORY_FIGURES],
    "ou_agir": ["etape", "nom", "nom_epci", "gain_score", "gain_population_rurale", "gain_population_qpv", "cumul_population_rurale",
                "cumul_population_qpv"],
    "sites_hypothetiques": ["nom", "lon", "lat"],
}

#: Width (px) of a column by format: every table of the page fits a 1440-pixel screen without a horizontal scroll.
WIDTHS = {"text": 180, "int": 100, "km": 100, "pct": 100, "bool": 80, "deg": 100}
#: Narrower columns than their format's width (short codes and verdicts).
NARROW = {"portee": 110, "code_epci": 100, "type_epci": 60, "hors_region": 60,
          "population_qpv_hors_portee_min": 85, "population_qpv_hors_portee_max": 85}
#: Narrower columns in one table, so that it too fits 1440 pixels (the QPV table has three text columns).
NARROW_IN = {"qpv": {"communes": 150, "acteurs_dedans": 150, "population": 90, "distance_min_km": 90, "distance_max_km": 90,
                     "nb_acteurs_dedans": 90}}
#: Row height (px) of the tables holding long names (intercommunalities, quartiers, actors): above 64 px, the table
#: wraps its texts on up to three lines instead of cutting them off.
WRAPPED_ROW_HEIGHT = 66
WRAPPED = ("communes_rurales_hors_portee", "qpv", "epci", "ou_agir")


def column_width(name: str, column: str, kind: str) -> int:
    """The width (px) of a column in the table ``name`` of the page."""
    return NARROW_IN.get(name, {}).get(column) or NARROW.get(column) or WIDTHS[kind]

_VERDICT_ORDER = {"hors de portée": 0, "incertain": 1, "à portée": 2}


def table_for_officials(name: str, layer, params: Params):
    """The rows and columns one table of the page shows, sorted by what matters (people left out first).

    Returns ``(frame, columns)``: ``columns`` maps each shown column to ``(header, explanation, format)``.
    """
    frame = layer.drop(columns="geometry", errors="ignore") if hasattr(layer, "geometry") else layer
    frame = pd.DataFrame(frame)
    cols = [c for c in TABLES[name] if c in frame.columns]
    if name == "qpv":
        order = frame["portee"].map(_VERDICT_ORDER)
        frame = frame.assign(_o=order, _p=frame["population"].astype("Float64").fillna(-1)).sort_values(["_o", "_p"], ascending=[True, False])
    elif name == "communes_rurales_hors_portee":
        frame = frame.sort_values(["population", "code_insee"], ascending=[False, True])
    elif name in ("departements", "epci"):
        # The region's total stays last; the units above it come by rural population left out, then QPV population.
        body, total = frame.iloc[:-1], frame.iloc[-1:]
        keys = [k for k in ("population_rurale_hors_portee", "population_qpv_hors_portee") if k in body.columns]
        frame = pd.concat([body.sort_values(keys, ascending=False, kind="stable"), total])
    columns = {c: COLUMNS[c] for c in cols}
    if "gain_score" in columns:
        columns["gain_score"] = (COLUMNS["gain_score"][0], _score_help(params), "int")
    return frame[cols].reset_index(drop=True), columns


def display_format(columns: dict):
    """``pandas.io.formats.style.Styler.format`` arguments for these columns, in the French number format."""
    fmt = {"int": nf.integer, "km": lambda v: nf.km(v, missing="aucun acteur").removesuffix(" km"), "pct": nf.percent,
           "bool": lambda v: "oui" if v is True or v == 1 else "non", "deg": lambda v: nf.decimal(v, 5)}
    return {c: fmt[kind] for c, (_, _, kind) in columns.items() if kind in fmt}

"""French text shown beside the coverage figures (slider help, method notes), kept out of the computation."""

from __future__ import annotations

from geodata import rural as rural_mod
from geodata.coverage import Demand, Params

#: Detour factors found in the literature for French roads: about 1.2 to 1.4 (1.3 typical in rural areas).
DETOUR_HELP = (
    "La distance est mesurée à vol d'oiseau puis multipliée par le facteur de détour, qui approche le trajet réel "
    "par la route : 1,0 = vol d'oiseau ; 1,3 = valeur typique en zone rurale (les études françaises trouvent 1,2 à 1,4)."
)

def _km(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def method_notes(demand: Demand, params: Params) -> list[str]:
    """What every figure rests on, in French, to show beside the figures."""
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
    if demand.has_qpv:
        gens = ", ".join(sorted(demand.qpv["generation"].astype(str).unique()))
        known = int(demand.qpv["population"].notna().sum())
        notes.append(f"QPV : génération {gens}, {len(demand.qpv)} quartiers ; population INSEE connue pour {known} d'entre eux.")
    else:
        notes.append("QPV : couche indisponible, seule la partie rurale est calculée.")
    return notes

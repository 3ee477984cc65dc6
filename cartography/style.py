"""Colours, letters and labels of the map legend: one style per actor type and per family."""

from __future__ import annotations

from dataclasses import dataclass

from geodata.actors import FAMILIES, TYPES


@dataclass(frozen=True)
class TypeStyle:
    label: str
    color: str
    letter: str


#: Fill colour and letter of the marker of each actor type (the letter makes the legend readable without colour).
TYPE_STYLES: dict[str, TypeStyle] = {
    "association": TypeStyle("Association", "#1f77b4", "A"),
    "laboratoire/université": TypeStyle("Laboratoire, université", "#6a3d9a", "L"),
    "musée/centre de sciences": TypeStyle("Musée, centre de sciences", "#d62728", "M"),
    "bibliothèque": TypeStyle("Bibliothèque", "#8c564b", "B"),
    "Fab Lab": TypeStyle("Fab Lab", "#e66101", "F"),
    "site de tourisme scientifique": TypeStyle("Site de tourisme scientifique", "#1b7837", "T"),
    "établissement scolaire": TypeStyle("Établissement scolaire", "#0e7c86", "S"),
    "centre de loisirs": TypeStyle("Centre de loisirs", "#8a8a00", "C"),
    "collectivité": TypeStyle("Collectivité", "#5b5b5b", "K"),
    "entreprise": TypeStyle("Entreprise", "#c51b7d", "E"),
    "média": TypeStyle("Média", "#253494", "D"),
    "autre": TypeStyle("Autre", "#737373", "?"),
}
assert set(TYPE_STYLES) == set(TYPES)

#: Ring colour of the markers of each family (the families are the map's layers).
FAMILY_COLORS: dict[str, str] = {
    "cercle1": "#00441b",
    "cercle2": "#2171b5",
    "cercle3": "#9ecae1",
    "fablab": "#e66101",
    "tourisme": "#1b7837",
    "autre": "#bdbdbd",
}
assert set(FAMILY_COLORS) == set(FAMILIES)


def type_key(value) -> str:
    """The known type of ``value``, ``"autre"`` for anything else (free text from a survey)."""
    return value if value in TYPE_STYLES else "autre"

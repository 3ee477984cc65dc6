"""The one filter of actors (search, circle, type, family, department, theme, survey status) and its permalink."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from geodata.actors import circle_of, families, split_list

#: Query-string key of each filter (the view itself uses ``lat``, ``lon``, ``z`` and ``fond``).
QUERY_KEYS = {"q": "query", "cercle": "circles", "type": "types", "dep": "departements", "theme": "themes"}
#: Circle filter values; "sans" selects actors without a circle (Fab Labs, tourism sites, unknown).
CIRCLE_OPTIONS = ("1", "2", "3", "sans")
CIRCLE_LABELS = {"1": "Cercle 1", "2": "Cercle 2", "3": "Cercle 3", "sans": "Sans cercle"}


def normalize(text) -> str:
    """Lower case without accents, for search (« Écomusée » matches « ecomusee »)."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().strip()


@dataclass(frozen=True)
class Selection:
    """Which actors to keep; empty fields select everything.

    The public map, the coverage analysis, the exports (page and CLI) and the staff search of
    the Édition page all filter through :func:`select_actors` with one of these.
    """

    query: str = ""
    circles: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    departements: tuple[str, ...] = ()
    #: Intercommunalities (SIREN ``code_epci``): the staff exports and the CLI filter per EPCI as per department.
    epci: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, params: Mapping[str, list[str]]) -> Selection:
        """Read a selection from query parameters (each key mapped to its list of values)."""
        values = {attr: [v for v in params.get(key, []) if v] for key, attr in QUERY_KEYS.items()}
        return cls(query=(values.pop("query") or [""])[0], **{k: tuple(dict.fromkeys(v)) for k, v in values.items()})

    def to_query(self) -> dict[str, list[str]]:
        """Query parameters of the public filters of this selection (empty lists for unused filters)."""
        out = {}
        for key, attr in QUERY_KEYS.items():
            value = getattr(self, attr)
            out[key] = ([value] if value else []) if isinstance(value, str) else list(value)
        return out

    def is_empty(self) -> bool:
        return not any(self.to_query().values()) and not self.epci and not self.families and not self.statuses


def circle_option(value) -> str:
    """The circle filter option of a ``cercle`` cell: "1", "2", "3", or "sans" when it names no circle."""
    c = circle_of(value)
    return "sans" if c is None else str(c)


def select_actors(actors: pd.DataFrame, selection: Selection) -> pd.DataFrame:
    """The actors matching every filter of ``selection`` (same columns, same order).

    Parameters
    ----------
    actors : DataFrame
        The directory (``nom``, ``commune``, ``commune_lieu``, ``cercle``, ``type_structure``,
        ``code_departement``, ``thematiques``; ``id``, ``famille`` and ``statut_enquete`` when present; ``code_epci`` for an EPCI filter).
    selection : Selection
        The search text matches the name, the commune or the identifier, ignoring case and accents;
        a theme matches when it is one of the actor's ``;``-separated themes; an actor with no
        circle (Fab Labs, tourism sites) is left out as soon as a circle filter without "sans" is set.
    """
    keep = pd.Series(True, index=actors.index)
    if selection.query:
        q = normalize(selection.query)
        hay = actors["nom"].map(normalize) + "\n" + actors.get("commune_lieu", actors["commune"]).map(normalize) + "\n" + actors["commune"].map(normalize)
        if "id" in actors.columns:
            hay = hay + "\n" + actors["id"].map(normalize)
        keep &= hay.str.contains(q, regex=False)
    if selection.circles:
        keep &= actors["cercle"].map(circle_option).isin([str(c) for c in selection.circles])
    if selection.types:
        keep &= actors["type_structure"].isin(selection.types)
    if selection.departements:
        keep &= actors["code_departement"].astype("object").isin(selection.departements)
    if selection.epci:
        keep &= actors["code_epci"].astype("object").isin(selection.epci)
    if selection.themes:
        wanted = set(selection.themes)
        keep &= actors["thematiques"].map(lambda v: bool(wanted.intersection(split_list(v))))
    if selection.families:
        fam = actors["famille"] if "famille" in actors.columns else families(actors)
        keep &= fam.isin(list(selection.families))
    if selection.statuses:
        keep &= actors["statut_enquete"].isin(list(selection.statuses))
    return actors[keep.to_numpy(dtype=bool)]


def theme_options(actors: pd.DataFrame) -> list[str]:
    """Every theme used in the directory, sorted for display."""
    themes = {t for cell in actors["thematiques"] for t in split_list(cell)}
    return sorted(themes, key=normalize)


def parse_view(params: Mapping[str, list[str]]) -> tuple[tuple[float, float] | None, float | None]:
    """The map view (centre, zoom) of a permalink, or (None, None) when absent or invalid."""
    try:
        lat, lon, z = float(params["lat"][0]), float(params["lon"][0]), float(params["z"][0])
    except (KeyError, IndexError, ValueError):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 <= z <= 18):
        return None, None
    return (lat, lon), z

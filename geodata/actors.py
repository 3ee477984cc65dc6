"""The actor schema: fields, their French labels, which are private, the rules their values obey, and the map families."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import shapely

from geodata import zones

TYPES = (
    "association",
    "laboratoire/université",
    "musée/centre de sciences",
    "bibliothèque",
    "Fab Lab",
    "site de tourisme scientifique",
    "établissement scolaire",
    "centre de loisirs",
    "collectivité",
    "entreprise",
    "média",
    "autre",
)
CIRCLES = (1, 2, 3)
SURVEY_STATUSES = ("non contacté", "envoyé", "répondu", "validé")


class Problem(NamedTuple):
    """Why a value breaks a field, in French: the reason, then how to fix it."""

    reason: str
    fix: str


@dataclass(frozen=True)
class Rule:
    """What a non-empty value of a field must be: a test, and its description for messages."""

    accepts: Callable[[str], bool]
    expected: str
    #: Why a refused value is refused, naming its bad part (a list field names the bad item); else a generic reason.
    why: Callable[[str], str | None] | None = None


@dataclass(frozen=True)
class Field:
    """One field of the directory: its name, French label and help, and the rules its values obey.

    The schema owns validation: the store refuses a value for which :meth:`problem` answers, the
    importer repairs or empties it with a warning (or sets the row aside when the field is required),
    so a row the importer accepts is a row the store accepts. ``max_length`` bounds every value (in
    characters): the importer cuts longer free text with a warning, so a 5 MB cell never enters whole.
    """

    name: str
    label: str
    description: str
    private: bool = False
    #: Shown on public surfaces (see :data:`PUBLIC_FIELDS`); private fields never are.
    public: bool = True
    required: bool = False
    max_length: int = 300
    rule: Rule | None = None

    def problem(self, value: str) -> Problem | None:
        """Why ``value`` (a cleaned string, see :func:`clean_value`) breaks this field; None when it fits."""
        if not value:
            return Problem("champ obligatoire vide", f"renseignez le champ « {self.label} »") if self.required else None
        if self.rule is not None and not self.rule.accepts(value):
            reason = (self.rule.why(value) if self.rule.why else None) or f"valeur {shorten(value, 80)!r} refusée"
            return Problem(reason, f"attendu {self.rule.expected}")
        if len(value) > self.max_length:
            return Problem(f"{len(value)} caractères", f"raccourcissez à {self.max_length} caractères au plus")
        return None


def _matches(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda v: compiled.fullmatch(v) is not None


def _iso_date(text: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _degrees(low: float, high: float) -> Callable[[str], bool]:
    """Decimal degrees within ``[low, high]``, point or comma (43.6045 or 43,6045)."""

    def accepts(text: str) -> bool:
        if not re.fullmatch(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:e[+-]?[0-9]+)?", text, re.IGNORECASE):
            return False
        value = float(text.replace(",", "."))
        return math.isfinite(value) and low <= value <= high

    return accepts


#: A web address the map may link to: http(s) only, a host, no spaces.
WEB_ADDRESS = Rule(_matches(r"(?i:https?)://[^\s/$.?#][^\s]*"), "une adresse commençant par http:// ou https://")
EMAIL = Rule(_matches(r"[^@\s;,<>]+@[^@\s;,<>]+\.[^@\s;,<>]+"), "une adresse de la forme nom@domaine.fr")

#: Field order of the directory; names follow schema.data.gouv.fr conventions where they fit.
FIELDS: tuple[Field, ...] = (
    Field("id", "Identifiant", "Identifiant stable de l'acteur dans l'annuaire.", required=True, max_length=100),
    Field("nom", "Nom", "Nom de la structure.", required=True),
    Field("type_structure", "Type de structure", "Un des types de TYPES (association, musée/centre de sciences, Fab Lab…).", max_length=50,
          rule=Rule(lambda v: v in TYPES, f"un type parmi : {', '.join(TYPES)}")),
    Field("cercle", "Cercle", "1 : la culture scientifique est l'activité principale ; 2 : certaines missions ; 3 : pourrait en faire. Vide pour les Fab Labs et sites de tourisme.", max_length=1,
          rule=Rule(lambda v: v in {str(c) for c in CIRCLES}, "1, 2, 3 ou vide")),
    Field("types_action", "Types d'action", "Liste séparée par « ; » (expositions, ateliers, conférences…).", max_length=1_000),
    Field("thematiques", "Thématiques", "Liste séparée par « ; » (astronomie, biodiversité, numérique…).", max_length=1_000),
    Field("adresse", "Adresse", "Numéro et voie."),
    Field("complement_adresse", "Complément d'adresse", "Bâtiment, boîte postale, lieu-dit."),
    Field("code_postal", "Code postal", "Code postal à 5 chiffres (les CEDEX sont acceptés).", max_length=5,
          rule=Rule(_matches(r"[0-9]{5}"), "5 chiffres (ex. 31000)")),
    Field("commune", "Commune", "Nom de la commune déclarée.", max_length=100),
    Field("code_insee", "Code INSEE", "Code INSEE de la commune déclarée (5 caractères).", max_length=5,
          rule=Rule(_matches(r"[0-9]{5}|2[AB][0-9]{3}"), "5 caractères (ex. 31555)")),
    Field("latitude", "Latitude", "WGS 84, degrés décimaux.", max_length=32,
          rule=Rule(_degrees(-90, 90), "des degrés décimaux entre -90 et 90 (ex. 43.6045)")),
    Field("longitude", "Longitude", "WGS 84, degrés décimaux.", max_length=32,
          rule=Rule(_degrees(-180, 180), "des degrés décimaux entre -180 et 180 (ex. 1.4442)")),
    Field("source_position", "Source de la position",
          "D'où viennent la latitude et la longitude (liste officielle, relevé sur place…) ; vide : aucune source nommée.", max_length=300),
    Field("site_web", "Site web", "Adresse http(s) du site.", max_length=2_000, rule=WEB_ADDRESS),
    Field("presentation_resume", "Présentation courte", "Une ou deux phrases (280 caractères au plus).", max_length=280),
    Field("presentation_detail", "Présentation détaillée", "Texte libre.", max_length=10_000),
    Field("date_maj", "Date de mise à jour", "AAAA-MM-JJ.", max_length=10, rule=Rule(_iso_date, "une date AAAA-MM-JJ (ex. 2026-03-15)")),
    # Public: where an offer goes is what the public and partners need to know about it (no personal data).
    Field("zone_intervention", "Zone d'intervention",
          "Offres itinérantes (tiers-lieu mobile, exposition itinérante) : où l'acteur se déplace. Codes INSEE de commune, SIREN "
          "d'EPCI ou codes de département d'Occitanie séparés par « ; » (ex. 81; 248100737; 31555). L'analyse de couverture compte "
          "ces communes et leurs QPV comme à portée.", max_length=10_000,
          rule=Rule(zones.accepts, zones.EXPECTED, why=zones.zone_problem)),
    Field("source", "Source", "D'où vient la fiche (enquête régionale 2026, site officiel…)."),
    Field("statut_enquete", "Statut de l'enquête", "non contacté, envoyé, répondu ou validé (suivi interne, jamais publié).", max_length=20, public=False,
          rule=Rule(lambda v: v in SURVEY_STATUSES, f"un statut parmi : {', '.join(SURVEY_STATUSES)}")),
    Field("contact_nom", "Personne contact", "Donnée personnelle : jamais publiée.", private=True, max_length=200),
    Field("contact_email", "Courriel", "Donnée personnelle : jamais publiée.", private=True, max_length=254, rule=EMAIL),
    Field("contact_telephone", "Téléphone", "Donnée personnelle : jamais publiée.", private=True, max_length=50),
)

FIELD_NAMES = tuple(f.name for f in FIELDS)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}
PRIVATE_FIELDS = frozenset(f.name for f in FIELDS if f.private)

#: Columns computed from where an actor is placed that public surfaces may show (the rest of the
#: enrichment, geocoding details and alerts, is staff-only).
PUBLIC_PLACEMENT = (
    "famille", "code_insee_lieu", "commune_lieu", "code_departement", "code_epci", "nom_epci", "code_qp", "nom_qp",
    "rural", "rural_densite", "rural_grille", "rural_uu2020", "rural_aav2020", "classe_densite",
)  # fmt: skip
#: The allow-list of what reaches the public map, the public table and CSV, the static site and public
#: exports: the public schema fields, then the public placement columns. Anything else stays with staff.
PUBLIC_FIELDS: tuple[str, ...] = (*(f.name for f in FIELDS if f.public and not f.private), *PUBLIC_PLACEMENT)

#: Families of the map legend; Fab Labs and scientific-tourism sites are families of their own.
FAMILIES = {
    "cercle1": "Acteurs du cercle 1",
    "cercle2": "Acteurs du cercle 2",
    "cercle3": "Acteurs du cercle 3",
    "fablab": "Fab Labs",
    "tourisme": "Sites de tourisme scientifique",
    "autre": "Acteurs sans cercle renseigné",
}


def circle_of(cercle) -> int | None:
    """The circle (1, 2 or 3) written in a ``cercle`` cell ("1", "2.0", 3), else ``None``: the one circle parser.

    >>> [circle_of(v) for v in ("1", "2.0", 3, "", None, "7")]
    [1, 2, 3, None, None, None]
    """
    try:
        c = int(float(cercle))
    except (TypeError, ValueError, OverflowError):
        return None
    return c if c in CIRCLES else None


def family_of(type_structure, cercle) -> str:
    """Map family of an actor: Fab Lab and tourism by type, else by circle."""
    if type_structure == "Fab Lab":
        return "fablab"
    if type_structure == "site de tourisme scientifique":
        return "tourisme"
    c = circle_of(cercle)
    return "autre" if c is None else f"cercle{c}"


def families(actors: pd.DataFrame) -> pd.Series:
    return pd.Series([family_of(t, c) for t, c in zip(actors["type_structure"], actors["cercle"])], index=actors.index, dtype="object")


def public_columns(columns, *, geometry: str | None = "geometry") -> list[str]:
    """The columns of ``columns`` listed in :data:`PUBLIC_FIELDS` (in their order), plus the ``geometry`` column if present.

    An allow-list: a column nobody listed (survey status, ``geocodage_*``, ``alerte_*``, contacts) never reaches
    a public surface.
    """
    allowed = set(PUBLIC_FIELDS) | ({geometry} if geometry else set())
    return [c for c in columns if c in allowed]


#: What a value never keeps: ANSI escape sequences (terminal colours, cursor moves) and the C0/C1
#: control characters (NUL included), tab and line breaks excepted. Invisible, they break names,
#: searches and exports, and some C libraries cut a string at its first NUL.
CONTROL_CHARACTERS = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI sequences: ESC [ 31 m
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC sequences: ESC ] ... BEL
    r"|\x1b[@-Z\\-_]?"  # other escapes, or a lone ESC
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)


def clean_value(value) -> str:
    """A field value as the directory keeps it: a string, missing values empty, without control characters, stripped."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return strip_controls(str(value)).strip()


def coordinates_problem(latitude: str, longitude: str) -> Problem | None:
    """The rule across two fields: coordinates come in pairs (else the actor is placed at its commune)."""
    if bool(latitude) != bool(longitude):
        return Problem("une seule coordonnée", "renseignez latitude ET longitude, ou aucune des deux (placement à la commune)")
    return None


def record_problems(record: Mapping[str, str]) -> list[tuple[Field, Problem]]:
    """Every rule a cleaned record breaks, field by field in schema order (the coordinate pair last)."""
    found = [(f, p) for f in FIELDS if (p := f.problem(record.get(f.name, ""))) is not None]
    pair = coordinates_problem(record.get("latitude", ""), record.get("longitude", ""))
    if pair is not None:
        found.append((FIELDS_BY_NAME["latitude"], pair))
    return found


def strip_controls(text: str) -> str:
    """``text`` without control characters and ANSI escapes (see :data:`CONTROL_CHARACTERS`)."""
    return CONTROL_CHARACTERS.sub("", text)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_list(value) -> list[str]:
    """Split a ';'-separated multi-value cell into clean items."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [v.strip() for v in str(value).split(";") if v.strip()]


def placed_mask(actors) -> np.ndarray:
    """Boolean array: which actors have a usable point (a geometry, not empty, finite coordinates).

    The one test of "placed on the map", shared by the maps, the coverage analysis, the exports and the pages.
    """
    geoms = np.asarray(actors.geometry.array, dtype=object)
    # shapely gives NaN for a missing, empty or non-point geometry.
    return np.isfinite(shapely.get_x(geoms)) & np.isfinite(shapely.get_y(geoms))

"""The actor schema: fields, their French labels, which are private, and the families shown on the map."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Field:
    """One field of the directory: its name, French label and help, and the rules its values obey.

    ``max_length`` bounds every value (in characters): the store refuses longer ones and the
    importer cuts them with a warning, so a 5 MB cell never enters the directory whole.
    """

    name: str
    label: str
    description: str
    private: bool = False
    required: bool = False
    max_length: int = 300


#: Field order of the directory; names follow schema.data.gouv.fr conventions where they fit.
FIELDS: tuple[Field, ...] = (
    Field("id", "Identifiant", "Identifiant stable de l'acteur dans l'annuaire.", required=True, max_length=100),
    Field("nom", "Nom", "Nom de la structure.", required=True),
    Field("type_structure", "Type de structure", "Un des types de TYPES (association, musée/centre de sciences, Fab Lab…).", max_length=50),
    Field("cercle", "Cercle", "1 : la culture scientifique est l'activité principale ; 2 : certaines missions ; 3 : pourrait en faire. Vide pour les Fab Labs et sites de tourisme.", max_length=1),
    Field("types_action", "Types d'action", "Liste séparée par « ; » (expositions, ateliers, conférences…).", max_length=1_000),
    Field("thematiques", "Thématiques", "Liste séparée par « ; » (astronomie, biodiversité, numérique…).", max_length=1_000),
    Field("adresse", "Adresse", "Numéro et voie."),
    Field("complement_adresse", "Complément d'adresse", "Bâtiment, boîte postale, lieu-dit."),
    Field("code_postal", "Code postal", "Code postal à 5 chiffres (les CEDEX sont acceptés).", max_length=5),
    Field("commune", "Commune", "Nom de la commune déclarée.", max_length=100),
    Field("code_insee", "Code INSEE", "Code INSEE de la commune déclarée (5 caractères).", max_length=5),
    Field("latitude", "Latitude", "WGS 84, degrés décimaux.", max_length=32),
    Field("longitude", "Longitude", "WGS 84, degrés décimaux.", max_length=32),
    Field("site_web", "Site web", "Adresse http(s) du site.", max_length=2_000),
    Field("presentation_resume", "Présentation courte", "Une ou deux phrases (280 caractères au plus).", max_length=280),
    Field("presentation_detail", "Présentation détaillée", "Texte libre.", max_length=10_000),
    Field("date_maj", "Date de mise à jour", "AAAA-MM-JJ.", max_length=10),
    Field("source", "Source", "D'où vient la fiche (enquête régionale 2026, site officiel…)."),
    Field("statut_enquete", "Statut de l'enquête", "non contacté, envoyé, répondu ou validé.", max_length=20),
    Field("contact_nom", "Personne contact", "Donnée personnelle : jamais publiée.", private=True, max_length=200),
    Field("contact_email", "Courriel", "Donnée personnelle : jamais publiée.", private=True, max_length=254),
    Field("contact_telephone", "Téléphone", "Donnée personnelle : jamais publiée.", private=True, max_length=50),
)

FIELD_NAMES = tuple(f.name for f in FIELDS)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}
PRIVATE_FIELDS = frozenset(f.name for f in FIELDS if f.private)

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

#: Families of the map legend; Fab Labs and scientific-tourism sites are families of their own.
FAMILIES = {
    "cercle1": "Acteurs du cercle 1",
    "cercle2": "Acteurs du cercle 2",
    "cercle3": "Acteurs du cercle 3",
    "fablab": "Fab Labs",
    "tourisme": "Sites de tourisme scientifique",
    "autre": "Acteurs sans cercle renseigné",
}


def family_of(type_structure, cercle) -> str:
    """Map family of an actor: Fab Lab and tourism by type, else by circle."""
    if type_structure == "Fab Lab":
        return "fablab"
    if type_structure == "site de tourisme scientifique":
        return "tourisme"
    try:
        c = int(float(cercle))
    except (TypeError, ValueError):
        return "autre"
    return f"cercle{c}" if c in CIRCLES else "autre"


def families(actors: pd.DataFrame) -> pd.Series:
    return pd.Series([family_of(t, c) for t, c in zip(actors["type_structure"], actors["cercle"])], index=actors.index, dtype="object")


def public_columns(columns) -> list[str]:
    """Columns that may reach a public page or a public export (never contact persons, e-mails, phones)."""
    return [c for c in columns if c not in PRIVATE_FIELDS]


#: What a value never keeps: ANSI escape sequences (terminal colours, cursor moves) and the C0/C1
#: control characters (NUL included), tab and line breaks excepted. Invisible, they break names,
#: searches and exports, and some C libraries cut a string at its first NUL.
CONTROL_CHARACTERS = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI sequences: ESC [ 31 m
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC sequences: ESC ] ... BEL
    r"|\x1b[@-Z\\-_]?"  # other escapes, or a lone ESC
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)


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

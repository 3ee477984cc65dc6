"""The actor schema: fields, their French labels, which are private, and the families shown on the map."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    description: str
    private: bool = False
    required: bool = False


#: Field order of the directory; names follow schema.data.gouv.fr conventions where they fit.
FIELDS: tuple[Field, ...] = (
    Field("id", "Identifiant", "Identifiant stable de l'acteur dans l'annuaire.", required=True),
    Field("nom", "Nom", "Nom de la structure.", required=True),
    Field("type_structure", "Type de structure", "Un des types de TYPES (association, musée/centre de sciences, Fab Lab…)."),
    Field("cercle", "Cercle", "1 : la culture scientifique est l'activité principale ; 2 : certaines missions ; 3 : pourrait en faire. Vide pour les Fab Labs et sites de tourisme."),
    Field("types_action", "Types d'action", "Liste séparée par « ; » (expositions, ateliers, conférences…)."),
    Field("thematiques", "Thématiques", "Liste séparée par « ; » (astronomie, biodiversité, numérique…)."),
    Field("adresse", "Adresse", "Numéro et voie."),
    Field("complement_adresse", "Complément d'adresse", "Bâtiment, boîte postale, lieu-dit."),
    Field("code_postal", "Code postal", "Code postal à 5 chiffres (les CEDEX sont acceptés)."),
    Field("commune", "Commune", "Nom de la commune déclarée."),
    Field("code_insee", "Code INSEE", "Code INSEE de la commune déclarée (5 caractères)."),
    Field("latitude", "Latitude", "WGS 84, degrés décimaux."),
    Field("longitude", "Longitude", "WGS 84, degrés décimaux."),
    Field("site_web", "Site web", "Adresse http(s) du site."),
    Field("presentation_resume", "Présentation courte", "Une ou deux phrases (280 caractères au plus)."),
    Field("presentation_detail", "Présentation détaillée", "Texte libre."),
    Field("date_maj", "Date de mise à jour", "AAAA-MM-JJ."),
    Field("source", "Source", "D'où vient la fiche (enquête régionale 2026, site officiel…)."),
    Field("statut_enquete", "Statut de l'enquête", "non contacté, envoyé, répondu ou validé."),
    Field("contact_nom", "Personne contact", "Donnée personnelle : jamais publiée.", private=True),
    Field("contact_email", "Courriel", "Donnée personnelle : jamais publiée.", private=True),
    Field("contact_telephone", "Téléphone", "Donnée personnelle : jamais publiée.", private=True),
)

FIELD_NAMES = tuple(f.name for f in FIELDS)
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


def public_columns(columns) -> list[str]:
    """Columns that may reach a public page or a public export (never contact persons, e-mails, phones)."""
    return [c for c in columns if c not in PRIVATE_FIELDS]


def split_list(value) -> list[str]:
    """Split a ';'-separated multi-value cell into clean items."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [v.strip() for v in str(value).split(";") if v.strip()]

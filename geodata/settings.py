"""Every setting of the project: a default, a help line and an environment variable."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir

from geodata.errors import SettingsError

APP_NAME = "carte-csti-occitanie"


def _setting(default, help_text: str, env: str):
    return field(default=default, metadata={"help": help_text, "env": env})


@dataclass(frozen=True)
class Settings:
    """Settings of the application; build with :func:`get_settings` to read the environment."""

    cache_dir: Path = _setting(
        Path(user_cache_dir(APP_NAME)),
        "Dossier du cache disque (géographie de référence, QPV, géocodage).",
        "CSTI_CACHE_DIR",
    )
    data_dir: Path = _setting(
        Path(user_data_dir(APP_NAME)),
        "Dossier des données modifiables (annuaire édité, historique, comptes).",
        "CSTI_DATA_DIR",
    )
    user_agent: str = _setting(
        f"{APP_NAME}/0.1 (reseau CSTI Occitanie)",
        "User-Agent envoyé à tout service distant.",
        "CSTI_USER_AGENT",
    )
    http_timeout: float = _setting(
        10.0, "Délai maximal (secondes) d'une requête HTTP.", "CSTI_HTTP_TIMEOUT"
    )
    qpv_url: str = _setting(
        "https://www.data.gouv.fr/fr/datasets/r/942d4ee8-8142-4556-8ea1-335537ce1119",
        "URL officielle du fichier national des QPV (ANCT, génération 2024, archive ZIP GeoJSON/Shapefile) ; "
        "téléchargé par `python -m geodata reference --download`.",
        "CSTI_QPV_URL",
    )
    qpv_file: str = _setting(
        "",
        "Chemin local d'un fichier QPV (prioritaire sur l'URL).",
        "CSTI_QPV_FILE",
    )
    qpv_population_file: str = _setting(
        "",
        "Chemin local d'un tableau INSEE de population par QPV (ex. DEMO_2022.csv).",
        "CSTI_QPV_POPULATION_FILE",
    )
    zonage_url: str = _setting(
        "https://www.insee.fr/fr/statistiques/fichier/7671844/table-appartenance-geo-communes-24.zip",
        "URL INSEE de la table d'appartenance géographique des communes.",
        "CSTI_ZONAGE_URL",
    )
    zonage_file: str = _setting(
        "",
        "Chemin local de la table d'appartenance géographique des communes (CSV ou XLSX).",
        "CSTI_ZONAGE_FILE",
    )
    grille_densite_url: str = _setting(
        "https://www.insee.fr/fr/statistiques/fichier/6439600/grille_densite_7_niveaux_2024.xlsx",
        "URL INSEE de la grille communale de densité à 7 niveaux.",
        "CSTI_GRILLE_DENSITE_URL",
    )
    grille_densite_file: str = _setting(
        "",
        "Chemin local de la grille communale de densité (CSV ou XLSX).",
        "CSTI_GRILLE_DENSITE_FILE",
    )
    decoupage_url: str = _setting(
        "https://registry.npmjs.org/@etalab/decoupage-administratif/-/decoupage-administratif-6.0.0.tgz",
        "Archive du paquet npm @etalab/decoupage-administratif 6.0.0 (COG 2026, populations légales, EPCI), téléchargée une fois "
        "(installation ou première construction de la référence).",
        "CSTI_DECOUPAGE_URL",
    )
    decoupage_integrity: str = _setting(
        "sha512-XavYsFlbcM/prKr8hNHPKER94IHw/dsxNM4nxjWMYk6PLFACpEedvn/7wK8Baozm0dCYhWWcf+7bcWpA5pmCaQ==",
        "Empreinte d'intégrité (SRI) attendue de cette archive ; une archive d'une autre empreinte est refusée avant toute lecture.",
        "CSTI_DECOUPAGE_INTEGRITY",
    )
    geocoder_url: str = _setting(
        "https://data.geopf.fr/geocodage",
        "Racine du service national de géocodage (Géoplateforme, protocole GeoCodeJSON).",
        "CSTI_GEOCODER_URL",
    )
    geocoder_min_score: float = _setting(
        0.5,
        "Score minimal d'un résultat du géocodeur national ; en dessous, la ligne part en revue.",
        "CSTI_GEOCODER_MIN_SCORE",
    )
    offline: bool = _setting(
        False,
        "Mode hors ligne : aucun appel réseau, géocodage à la commune seulement.",
        "CSTI_OFFLINE",
    )
    actors_file: str = _setting(
        "",
        "Annuaire à afficher (CSV, XLSX, GeoJSON, GeoPackage) ; vide = annuaire d'exemple embarqué.",
        "CSTI_ACTORS_FILE",
    )
    public_url: str = _setting(
        "",
        "Adresse publique du site statique publié (python -m geodata publish), pour le code d'intégration <iframe>.",
        "CSTI_PUBLIC_URL",
    )
    report_email: str = _setting(
        "signalements@example.org",
        "Adresse qui reçoit les signalements d'erreur de la carte publique (lien « Signaler une erreur » de chaque fiche) ; à remplacer par l'adresse du réseau.",
        "CSTI_REPORT_EMAIL",
    )


_TRUE, _FALSE = ("1", "true", "yes", "oui", "on"), ("0", "false", "no", "non", "off")


def _coerce(value: str, default, *, env: str, help_text: str):
    """The environment's text as the type of the default; a French :class:`SettingsError` when it does not fit."""
    if isinstance(default, bool):
        word = value.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        expected = f"oui ou non, soit {', '.join(_TRUE)}, soit {', '.join(_FALSE)}"
    elif isinstance(default, float | int):
        try:
            number = float(value.strip().replace(",", ".")) if isinstance(default, float) else int(value.strip())
        except ValueError:
            number = None
        if number is not None and math.isfinite(number):
            return number
        expected = "un nombre, ex. 10 ou 2.5" if isinstance(default, float) else "un nombre entier, ex. 10"
    elif isinstance(default, Path):
        return Path(value).expanduser()
    else:
        return value
    shown = ("1" if default else "0") if isinstance(default, bool) else f"{default:g}"
    raise SettingsError(
        f"Réglage {env} invalide : {value!r} ({help_text.rstrip('.')}). Attendu : {expected}. "
        f"Corrigez la variable d'environnement {env}, ou supprimez-la pour garder la valeur par défaut ({shown})."
    )


def get_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build the settings from defaults overridden by environment variables.

    Raises
    ------
    SettingsError
        A variable's value is not of the setting's form (``CSTI_HTTP_TIMEOUT=abc``).
    """
    environ = os.environ if environ is None else environ
    values = {}
    for f in fields(Settings):
        env = f.metadata["env"]
        if env in environ and environ[env] != "":
            values[f.name] = _coerce(environ[env], f.default, env=env, help_text=f.metadata["help"])
    return Settings(**values)


def describe_settings() -> list[dict[str, str]]:
    """Name, environment variable, default and help of every setting (for docs and the CLI)."""
    return [
        {
            "nom": f.name,
            "variable": f.metadata["env"],
            "défaut": str(f.default),
            "aide": f.metadata["help"],
        }
        for f in fields(Settings)
    ]

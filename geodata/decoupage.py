"""Current official communes, legal populations and EPCI: Etalab's ``@etalab/decoupage-administratif`` (npm tarball, integrity-checked)."""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import hmac
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from geodata import _http
from geodata.errors import GeodataError, ReferenceDataError
from geodata.settings import Settings

PACKAGE = "@etalab/decoupage-administratif"
VERSION = "6.0.0"
#: The package's commune populations are INSEE's legal populations of millésime 2023 (population at
#: 1 January 2023, published in December 2025, in force from 1 January 2026): Toulouse 514,819, where
#: millésime 2022 (in force in 2025) gave 511,684 and millésime 2021 gave 504,078.
MILLESIME = 2023
IN_FORCE = 2026
LABEL = f"population légale en vigueur en {IN_FORCE} (millésime {MILLESIME})"
#: Members read from the tarball, by name (nothing is extracted to disk from the archive itself).
MEMBERS = {"communes": "package/data/communes.json", "epci": "package/data/epci.json", "package": "package/package.json"}
#: Largest member accepted (the real communes.json is 8.6 MB): a bound against archive bombs.
MAX_MEMBER_BYTES = 64 * 2**20
#: EPCI types of the DGCL list, in French.
EPCI_TYPES = {"CC": "Communauté de communes", "CA": "Communauté d'agglomération", "CU": "Communauté urbaine", "METRO": "Métropole",
              "MET69": "Métropole de Lyon"}


@dataclass(frozen=True)
class Package:
    """The two tables of the package that the reference uses, as parsed JSON."""

    communes: list[dict]
    epci: list[dict]
    version: str
    url: str


def _digest(integrity: str) -> tuple[str, bytes]:
    algo, _, b64 = integrity.strip().partition("-")
    if algo not in ("sha512", "sha384", "sha256"):
        raise ReferenceDataError(f"Empreinte d'intégrité illisible : {integrity!r} (attendu « sha512-… », format SRI du registre npm).")
    try:
        return algo, base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ReferenceDataError(f"Empreinte d'intégrité illisible : {integrity!r} (base64 invalide).") from None


def verify_integrity(body: bytes, integrity: str, *, url: str) -> None:
    """Refuse ``body`` unless its hash is the pinned SRI ``integrity`` (``sha512-<base64>``), before anything reads it."""
    algo, expected = _digest(integrity)
    actual = hashlib.new(algo, body).digest()
    if not hmac.compare_digest(actual, expected):
        raise ReferenceDataError(
            f"Archive refusée : l'empreinte de {url!r} ({algo}-{base64.b64encode(actual).decode()[:16]}…) n'est pas celle attendue "
            f"pour {PACKAGE} {VERSION} ({integrity[:23]}…). Le fichier a été modifié ou n'est pas le bon : rien n'en est lu. "
            "Vérifiez CSTI_DECOUPAGE_URL (ou le miroir du registre npm)."
        )


def extract_members(body: bytes, *, url: str = "") -> dict[str, bytes]:
    """The :data:`MEMBERS` of a gzip'd npm tarball, read by name into memory (no path from the archive touches the disk)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
            out = {}
            for key, name in MEMBERS.items():
                try:
                    member = tar.getmember(name)
                except KeyError:
                    raise ReferenceDataError(f"L'archive {url!r} ne contient pas {name!r} : ce n'est pas {PACKAGE} {VERSION}.") from None
                if not member.isfile() or member.size > MAX_MEMBER_BYTES:
                    raise ReferenceDataError(f"Le membre {name!r} de l'archive {url!r} n'est pas un fichier ordinaire de taille raisonnable.")
                out[key] = tar.extractfile(member).read()
            return out
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, OSError) as exc:
        raise ReferenceDataError(f"Archive {url!r} illisible ({exc}) : ce n'est pas une archive npm (tar gzip).") from exc


def parse_members(members: dict[str, bytes], *, url: str = "") -> Package:
    try:
        communes = json.loads(members["communes"])
        epci = json.loads(members["epci"])
        version = json.loads(members["package"]).get("version", "?")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReferenceDataError(f"Données JSON illisibles dans {url!r} ({exc}).") from exc
    if not (isinstance(communes, list) and isinstance(epci, list)):
        raise ReferenceDataError(f"Données inattendues dans {url!r} : communes.json et epci.json doivent être des listes.")
    return Package(communes, epci, str(version), url)


def cache_dir(settings: Settings) -> Path:
    """Folder of the extracted data, keyed by the pinned integrity (another pin, another folder)."""
    key = hashlib.sha256(settings.decoupage_integrity.encode()).hexdigest()[:12]
    return Path(settings.cache_dir) / "decoupage-administratif" / key


def _write(folder: Path, members: dict[str, bytes], meta: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    files = {**{f"{k}.json": v for k, v in members.items()}, "source.json": json.dumps(meta, ensure_ascii=False).encode()}
    for name, data in files.items():  # source.json last: its presence marks a complete folder
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, folder / name)


def cached_package(settings: Settings) -> Package | None:
    """The extracted data of a previous download, or ``None``."""
    folder = cache_dir(settings)
    try:
        meta = json.loads((folder / "source.json").read_text(encoding="utf-8"))
        if meta.get("integrity") != settings.decoupage_integrity:
            return None
        members = {key: (folder / f"{key}.json").read_bytes() for key in MEMBERS}
    except (OSError, ValueError):
        return None
    return parse_members(members, url=meta.get("url", ""))


def download_package(settings: Settings) -> Package:
    """Fetch the tarball, check it against the pinned integrity before reading it, extract its data into the cache."""
    url = settings.decoupage_url
    body = _http.fetch_bytes(url, settings=settings)
    verify_integrity(body, settings.decoupage_integrity, url=url)
    members = extract_members(body, url=url)
    package = parse_members(members, url=url)
    _write(cache_dir(settings), members, {"url": url, "integrity": settings.decoupage_integrity, "version": package.version})
    return package


def load_package(settings: Settings, *, download: bool) -> tuple[Package | None, str]:
    """The package from the cache, else downloaded when ``download`` and not offline; else ``None`` and why, in French."""
    package = cached_package(settings)
    if package is not None:
        return package, ""
    if not download or settings.offline:
        return None, (f"{PACKAGE} {VERSION} absent du cache et non téléchargé (hors ligne) : lancez `python -m geodata reference --download` "
                      "ou `python3 tasks.py app` avec un accès au registre npm.")
    try:
        return download_package(settings), ""
    except GeodataError as exc:
        return None, str(exc)


def install(settings: Settings | None = None) -> int:
    """Fetch and verify the package once into the cache (the install step); says what happened, never fails the install."""
    from geodata.reference import FALLBACK_LABEL
    from geodata.settings import get_settings

    settings = settings or get_settings()
    package, why = load_package(settings, download=True)
    if package is None:
        print(f"! {why} La géographie de référence utilisera le repli : {FALLBACK_LABEL}.")
        return 1
    print(f"{PACKAGE} {package.version} vérifié ({settings.decoupage_integrity[:15]}…) : {cache_dir(settings)}")
    return 0

"""Intervention zones of itinerant offers: codes of communes, intercommunalities and departments, checked and expanded.

A zone (field ``zone_intervention`` of the schema) lists where an actor goes: INSEE commune codes (``31555``), SIREN
codes of intercommunalities (EPCI, ``248100737``) and department codes (``81``), separated by ``;``. Every code must
name a commune, an EPCI or a department of Occitanie in the reference geography (:mod:`geodata.reference`).
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

#: The one separator a stored zone uses (the importer also reads commas and spaces).
SEPARATOR = "; "
COMMUNE, EPCI, DEPARTEMENT = "commune", "EPCI", "département"
_KINDS = (
    (COMMUNE, re.compile(r"[0-9]{5}|2[AB][0-9]{3}")),
    (EPCI, re.compile(r"[0-9]{9}")),
    (DEPARTEMENT, re.compile(r"[0-9]{2}|2[AB]|9[78][0-9]")),
)
#: How to write a zone, for every message.
EXPECTED = (
    "des codes INSEE de commune (31555), des numéros SIREN d'intercommunalité (248100737) ou des codes de département (81) "
    "d'Occitanie, séparés par « ; » (ex. 81; 248100737; 31555)"
)


def codes_of(text: str) -> list[str]:
    """The codes of a stored zone, in order (``"81; 31555"`` -> ``["81", "31555"]``)."""
    return [c.strip() for c in str(text or "").split(";") if c.strip()]


def kind_of(code: str) -> str | None:
    """``"commune"``, ``"EPCI"`` or ``"département"`` by the shape of ``code``; ``None`` when it has none of these shapes."""
    return next((kind for kind, pattern in _KINDS if pattern.fullmatch(code)), None)


@functools.cache
def _occitanie_codes() -> dict[str, frozenset[str]]:
    """Codes of Occitanie's communes, EPCI and departments in the reference geography (loaded once)."""
    from geodata.reference import DEPARTMENTS, load_reference

    communes = load_reference().communes
    return {
        COMMUNE: frozenset(communes["code_insee"].astype(str)),
        EPCI: frozenset(communes["code_epci"].dropna().astype(str)) if "code_epci" in communes else frozenset(),
        DEPARTEMENT: frozenset(DEPARTMENTS),
    }


def code_problem(code: str) -> str | None:
    """Why one code cannot be part of a zone, in French, naming it; ``None`` when it names a place of Occitanie."""
    kind = kind_of(code)
    if kind is None:
        return f"code {code!r} mal formé (ni 5 caractères d'une commune, ni 9 chiffres d'un EPCI, ni 2 ou 3 d'un département)"
    if code not in _occitanie_codes()[kind]:
        return f"code {code!r} inconnu : aucun{'e' if kind == COMMUNE else ''} {kind} d'Occitanie ne porte ce code"
    return None


def zone_problem(text: str) -> str | None:
    """Why a stored zone is refused (the first bad code, or a bad separator), in French; ``None`` when every code is good."""
    for code in codes_of(text):
        if re.search(r"[,\s]", code):
            return f"codes {code[:80]!r} mal séparés (séparez les codes par « ; »)"
        if (why := code_problem(code)) is not None:
            return why
    return None


def accepts(text: str) -> bool:
    """The schema's test of a zone (see :data:`geodata.actors.FIELDS`)."""
    return zone_problem(text) is None


def _normalised(code: str) -> str:
    """A code as a spreadsheet may have spoilt it, put back: ``9001`` -> ``09001``, ``9`` -> ``09``, ``2a004`` -> ``2A004``."""
    code = code.strip().upper().removesuffix(".0")
    if re.fullmatch(r"[0-9]{4}", code):
        return code.zfill(5)
    if re.fullmatch(r"[0-9]", code):
        return code.zfill(2)
    return code


def tidy(text: str) -> tuple[str, list[str]]:
    """A zone as a file writes it (``;``, ``,`` or spaces between codes), as the directory keeps it, and why codes were dropped.

    Returns ``(zone, problems)``: the good codes in their order, without repeats, joined by :data:`SEPARATOR`, and
    one French reason per code left out (:func:`code_problem`).
    """
    kept: list[str] = []
    problems: list[str] = []
    for raw in re.split(r"[;,\s]+", str(text or "")):
        if not raw:
            continue
        code = _normalised(raw)
        why = code_problem(code)
        if why is not None:
            problems.append(why)
        elif code not in kept:
            kept.append(code)
    return SEPARATOR.join(kept), problems


def communes_in_zones(zones, communes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which communes each zone covers, as pairs ``(zone index, commune row)``.

    ``zones`` is a sequence of zones (text as stored); ``communes`` has ``code_insee``, ``code_departement`` and,
    for EPCI codes, ``code_epci`` (rows of ``communes`` are numbered 0…n-1 in their order). Codes that name no
    commune of the table cover nothing.
    """
    columns = {COMMUNE: "code_insee", DEPARTEMENT: "code_departement", EPCI: "code_epci"}
    rows_of = {
        kind: pd.Series(np.arange(len(communes))).groupby(communes[column].astype(str).to_numpy()).indices
        for kind, column in columns.items()
        if column in communes.columns
    }
    covered_by: dict[str, np.ndarray] = {}  # zones repeat (one offer, several rows): each distinct text is expanded once
    zone_idx: list[np.ndarray] = []
    commune_rows: list[np.ndarray] = []
    for i, text in enumerate(zones):
        if text not in covered_by:
            parts = [rows_of.get(kind_of(code) or "", {}).get(code) for code in codes_of(text)]
            found = [p for p in parts if p is not None]
            covered_by[text] = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
        rows = covered_by[text]
        zone_idx.append(np.full(len(rows), i, dtype=np.int64))
        commune_rows.append(rows.astype(np.int64))
    if not zone_idx:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(zone_idx), np.concatenate(commune_rows)

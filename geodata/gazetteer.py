"""Offline commune geocoder built from the reference geography: postcode and commune name to an INSEE code."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geodata.territory import Reference

#: How a commune was found, from the most to the least certain.
METHODS = {
    "code_insee": "code INSEE de la commune",
    "ancien_code_insee": "code INSEE d'une ancienne commune (commune nouvelle)",
    "nom_code_postal": "nom de commune et code postal",
    "nom_departement": "nom de commune et département",
    "nom": "nom de commune seul (unique dans la région)",
    "ancien_nom": "nom d'une ancienne commune fusionnée",
    "nom_partiel": "nom abrégé ou suivi d'un lieu-dit, parmi les communes du code postal ou du département",
    "nom_approche": "nom approché parmi les communes du code postal ou du département",
    "code_postal": "code postal desservant une seule commune",
    "code_postal_partage": "code postal partagé : commune la plus peuplée retenue",
}
#: Methods whose result is placed but should be checked by a person.
DOUBTFUL = frozenset({"nom_approche", "code_postal_partage"})

_ARTICLES = {"le", "la", "les", "l"}
_CEDEX = re.compile(r"\b(cedex|cx)\b.*$")
_PARENS = re.compile(r"\(([^)]*)\)")


def normalise_name(text) -> str:
    """Comparable form of a commune name: no accents, case, hyphens, leading article, "St", CEDEX.

    >>> normalise_name("LE MAS D'AZIL")
    'mas d azil'
    >>> normalise_name("St-Girons Cedex 2")
    'saint girons'
    """
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return ""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    text = _PARENS.sub(" ", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    text = _CEDEX.sub("", text)
    words = [w for w in text.split() if not w.isdigit()]
    words = ["saint" if w == "st" else "sainte" if w == "ste" else w for w in words]
    while words and words[0] in _ARTICLES and len(words) > 1:
        words = words[1:]
    return " ".join(words)


def _alternatives(text) -> list[str]:
    """The name itself, then any name given in parentheses ("Sauliac-sur-Célé (Cuzals)")."""
    if not isinstance(text, str):
        return [normalise_name(text)]
    out = [normalise_name(text)]
    out += [normalise_name(inner) for inner in _PARENS.findall(text)]
    return [o for o in out if o]


def clean_postcode(value) -> str:
    """Five-digit postcode or ``""``: restores leading zeros stripped by spreadsheets (9400 -> 09400)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = re.sub(r"\.0$", "", str(value).strip())
    m = re.match(r"^(\d{4,5})\b", text)
    if not m:
        return ""
    return m.group(1).zfill(5)


@dataclass(frozen=True)
class Match:
    code_insee: str | None
    methode: str
    motif: str


class Gazetteer:
    """Resolve (commune name, postcode, INSEE code) to a current commune of the reference.

    Lookups go through dictionaries built once; :meth:`resolve` works on unique keys only,
    so a batch of 50,000 addresses costs a few thousand lookups.
    """

    def __init__(self, reference: Reference):
        communes = reference.communes
        self.codes = pd.Index(communes["code_insee"])
        self.names = dict(zip(communes["code_insee"], communes["nom"]))
        self.population = dict(zip(communes["code_insee"], communes["population"]))
        self.points = pd.DataFrame({"lon": communes["point_lon"].to_numpy(), "lat": communes["point_lat"].to_numpy()}, index=communes["code_insee"].to_numpy())
        self.department_of = dict(zip(communes["code_insee"], communes["code_departement"]))
        self.by_name: dict[str, list[str]] = {}
        for code, name in zip(communes["code_insee"], communes["nom"]):
            self.by_name.setdefault(normalise_name(name), []).append(code)
        self.old_by_name: dict[str, list[str]] = {}
        self.old_code: dict[str, str] = {}
        for old, name, parent in zip(
            reference.anciennes_communes["code_ancien"], reference.anciennes_communes["nom_ancien"], reference.anciennes_communes["code_insee"]
        ):
            self.old_code.setdefault(old, parent)
            lst = self.old_by_name.setdefault(normalise_name(name), [])
            if parent not in lst:
                lst.append(parent)
        self.by_postcode: dict[str, list[str]] = {}
        for cp, code in zip(reference.codes_postaux["code_postal"], reference.codes_postaux["code_insee"]):
            self.by_postcode.setdefault(cp, []).append(code)
        self.by_department: dict[str, list[str]] = {}
        for code, dep in self.department_of.items():
            self.by_department.setdefault(dep, []).append(code)
        self._norm_of = {code: normalise_name(name) for code, name in self.names.items()}
        self._memo: dict[tuple, Match] = {}

    # -- one key ---------------------------------------------------------------------------
    def _filter(self, candidates: list[str], postcode_communes: list[str], department: str) -> tuple[list[str], str]:
        if postcode_communes:
            inside = [c for c in candidates if c in postcode_communes]
            if inside:
                return inside, "nom_code_postal"
        if department:
            inside = [c for c in candidates if self.department_of[c] == department]
            if inside:
                return inside, "nom_departement"
            # A name found only in another department than the postcode's: not this commune.
            return [], "nom"
        return candidates, "nom"

    def _approximate(self, name: str, pool: list[str]) -> tuple[str | None, str]:
        if not name or not pool:
            return None, ""
        # A whole-word prefix of exactly one commune ("Cordes" -> "Cordes-sur-Ciel").
        prefixed = [c for c in pool if self._norm_of[c].startswith(name + " ")]
        if len(prefixed) == 1:
            return prefixed[0], "nom_partiel"
        # A commune name followed by a locality ("Marseillan-Plage", "Salmiech-Cassagnes"): longest such name.
        within = [c for c in pool if name.startswith(self._norm_of[c] + " ")]
        if within:
            return max(within, key=lambda c: len(self._norm_of[c])), "nom_partiel"
        close = difflib.get_close_matches(name, [self._norm_of[c] for c in pool], n=2, cutoff=0.85)
        if close:
            hits = [c for c in pool if self._norm_of[c] == close[0]]
            if len(hits) == 1:
                return hits[0], "nom_approche"
        return None, ""

    def resolve_one(self, commune="", code_postal="", code_insee="", departement="") -> Match:
        """Resolve one address to a commune; see :data:`METHODS` for the possible methods."""
        key = (commune, code_postal, code_insee, departement)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._resolve(*key)
        return hit

    def _resolve(self, commune, code_postal, code_insee, departement) -> Match:
        code = str(code_insee or "").strip().upper()
        code = code.zfill(5) if code.isdigit() and len(code) == 4 else code
        if code in self.names:
            return Match(code, "code_insee", "")
        if code in self.old_code:
            parent = self.old_code[code]
            return Match(parent, "ancien_code_insee", f"ancienne commune {code!r} rattachée à {self.names[parent]} ({parent})")
        cp = clean_postcode(code_postal)
        postcode_communes = self.by_postcode.get(cp, [])
        dep = str(departement or "").strip().upper()
        dep = dep.zfill(2) if dep.isdigit() and len(dep) == 1 else dep[:2] if dep[:2].isdigit() else ""
        if not dep and cp:
            dep = cp[:2]
        names = _alternatives(commune)
        for i, name in enumerate(names):
            for index, label in ((self.by_name, None), (self.old_by_name, "ancien_nom")):
                candidates = index.get(name, [])
                if not candidates:
                    continue
                kept, how = self._filter(candidates, postcode_communes, dep)
                if len(kept) == 1:
                    motif = "" if label is None and i == 0 else f"nom {commune!r} reconnu comme {self.names[kept[0]]}"
                    return Match(kept[0], label or how, motif)
                if postcode_communes or dep:
                    continue
                return Match(None, "", f"commune {commune!r} ambiguë ({len(kept)} communes de ce nom) : ajoutez le code postal ou le code INSEE")
        pool = postcode_communes or self.by_department.get(dep, [])
        for name in names:
            approx, how = self._approximate(name, pool)
            if approx:
                return Match(approx, how, f"commune {commune!r} rapprochée de {self.names[approx]} ({approx})")
        if len(postcode_communes) == 1:
            only = postcode_communes[0]
            motif = f"commune {commune!r} non reconnue : placée d'après le code postal {cp} ({self.names[only]})" if names else ""
            return Match(only, "code_postal", motif)
        if postcode_communes:
            best = max(postcode_communes, key=lambda c: self.population[c])
            return Match(
                best,
                "code_postal_partage",
                f"commune {commune!r} non reconnue ; code postal {cp} partagé par {len(postcode_communes)} communes : "
                f"placée à {self.names[best]} ({best}), la plus peuplée ; corrigez la commune si besoin",
            )
        if not names and not cp:
            return Match(None, "", "ni commune, ni code postal, ni code INSEE : ajoutez au moins la commune")
        where = f" dans le département {dep}" if dep else ""
        return Match(None, "", f"commune {commune!r} (code postal {code_postal!r}) introuvable{where} en Occitanie : vérifiez l'orthographe ou ajoutez le code INSEE")

    # -- a batch ---------------------------------------------------------------------------
    def resolve(self, commune, code_postal=None, code_insee=None, departement=None) -> pd.DataFrame:
        """Resolve a batch; returns ``code_insee``, ``methode``, ``motif``, ``lon``, ``lat`` aligned on the input.

        Parameters
        ----------
        commune, code_postal, code_insee, departement : sequence of str
            Same length; missing sequences count as empty strings.
        """
        commune = pd.Series(commune).reset_index(drop=True)
        n = len(commune)

        def col(values):
            if values is None:
                return pd.Series([""] * n, dtype=object)
            return pd.Series(values).reset_index(drop=True).astype(object).where(lambda s: s.notna(), "").astype(str)

        keys = pd.DataFrame({"c": col(commune), "p": col(code_postal), "i": col(code_insee), "d": col(departement)})
        codes, inverse = np.unique(keys.to_numpy(dtype=str), axis=0, return_inverse=True) if n else (np.empty((0, 4)), np.array([], dtype=int))
        matches = [self.resolve_one(*(str(v) for v in row)) for row in codes]
        inverse = np.asarray(inverse).ravel()
        out = pd.DataFrame(
            {
                "code_insee": pd.Series([m.code_insee for m in matches], dtype=object).to_numpy()[inverse] if n else [],
                "methode": pd.Series([m.methode for m in matches], dtype=object).to_numpy()[inverse] if n else [],
                "motif": pd.Series([m.motif for m in matches], dtype=object).to_numpy()[inverse] if n else [],
            }
        )
        pts = self.points.reindex(out["code_insee"].fillna("").to_numpy())
        out["lon"] = pts["lon"].to_numpy()
        out["lat"] = pts["lat"].to_numpy()
        return out


_LAST: list = []


def gazetteer_for(reference: Reference) -> Gazetteer:
    """The gazetteer of a reference, built once per reference object (the last one is kept)."""
    if _LAST and _LAST[0] is reference.communes:
        return _LAST[1]
    gaz = Gazetteer(reference)
    _LAST[:] = [reference.communes, gaz]
    return gaz

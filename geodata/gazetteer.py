"""Offline commune geocoder built from the reference geography: postcode and commune name to an INSEE code."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geodata.reference import Reference

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
    "nom_ambigu": "nom abrégé ou homonyme que le code postal ne départage pas : commune la plus peuplée retenue",
    "code_postal": "code postal desservant une seule commune",
    "code_postal_partage": "code postal partagé : commune la plus peuplée retenue",
}
#: Methods whose result is placed but should be checked by a person.
DOUBTFUL = frozenset({"nom_approche", "nom_ambigu", "code_postal_partage"})

#: Leading articles ignored when matching: French (le, la, les, l'), Occitan (lo, los, las, lei, leis) and
#: Catalan (el, els, es, sa, ses): "Els Masos", "Masos" and "Los Masos" are one commune.
_ARTICLES = {"le", "la", "les", "l", "lo", "los", "las", "lei", "leis", "el", "els", "es", "sa", "ses"}
_CEDEX = re.compile(r"\b(cedex|cx)\b.*$")
_PARENS = re.compile(r"\(([^)]*)\)")
#: Postal boxes (BP 123, CS 40001, TSA 70011): their numbers are not postcodes.
BOXES = re.compile(r"\b(?:BP|CS|B\.P\.|TSA)\s*\d+\b", re.IGNORECASE)
#: A postcode inside an address line, written "09000" or "48 220", not part of a longer number.
_POSTCODE_IN_TEXT = re.compile(r"(?<![\d.,])(\d{2}) ?(\d{3})(?![\d.,]?\d)")
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_SEPARATOR = re.compile(r"[,;]")
_POSTCODE_VALUE = re.compile(r"^(\d{2}) ?(\d{3})\b|^(\d{4})\b")  # "31000", "48 220", "9400"


def _words(text) -> list[str]:
    """Words of a name: no accents, case, punctuation, parentheses, CEDEX or numbers; "St" read "Saint"."""
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return []
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    text = _PARENS.sub(" ", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    text = _CEDEX.sub("", text)
    words = [w for w in text.split() if not w.isdigit()]
    return ["saint" if w == "st" else "sainte" if w == "ste" else w for w in words]


def normalise_name(text) -> str:
    """Comparable form of a commune name: no accents, case, hyphens, leading article, "St", CEDEX.

    >>> normalise_name("LE MAS D'AZIL")
    'mas d azil'
    >>> normalise_name("St-Girons Cedex 2")
    'saint girons'
    >>> normalise_name("Els Masos")
    'masos'
    """
    words = _words(text)
    while words and words[0] in _ARTICLES and len(words) > 1:
        words = words[1:]
    return " ".join(words)


def _with_article(text) -> str:
    """Comparable form keeping the leading article, to tell "Le Vernet" from "Vernet"."""
    return " ".join(_words(text))


def _alternatives(text) -> list[str]:
    """The name itself, then its part before " - " ("Foix - Ariège"), then any name in parentheses ("Sauliac-sur-Célé (Cuzals)")."""
    if not isinstance(text, str):
        return [normalise_name(text)]
    out = [normalise_name(text)]
    if " - " in text:
        out.append(normalise_name(text.split(" - ")[0]))
    out += [normalise_name(inner) for inner in _PARENS.findall(text)]
    return list(dict.fromkeys(o for o in out if o))


def address_parts(adresse) -> tuple[str, str]:
    """Postcode and commune written in an address line, ``("", "")`` when it holds no postcode.

    The postcode is the last five-digit number (or "48 220") that is not a postal box; the
    commune is the text after it up to a comma, else the text before it back to a comma when
    that text has no number ("Foix 09000").

    >>> address_parts("09000 Foix - Ariège")
    ('09000', 'Foix - Ariège')
    >>> address_parts("2 rue du Lieutenant-Colonel Maillard, 81000 Albi, France")
    ('81000', 'Albi')
    >>> address_parts("Mairie, BP 50123, 48 220 Vialas")
    ('48220', 'Vialas')
    """
    if not isinstance(adresse, str) or not adresse.strip():
        return "", ""
    text = BOXES.sub(lambda m: " " * len(m.group()), adresse)
    for m in reversed(list(_POSTCODE_IN_TEXT.finditer(text))):
        if not "01" <= m.group(1) <= "98":
            continue  # no French postcode starts with 00 or 99
        after = " ".join(_SEPARATOR.split(text[m.end() :], maxsplit=1)[0].split()).strip(" -")
        if not _LETTER.search(after):
            if " " in m.group():
                continue  # "48 220" counts only when a commune follows
            before = _SEPARATOR.split(text[: m.start()])[-1]
            after = "" if _DIGIT.search(before) else " ".join(before.split()).strip(" -")
        return m.group(1) + m.group(2), after
    return "", ""


def fill_from_address(adresse: pd.Series, code_postal: pd.Series, commune: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Postcode and commune columns completed, where empty, from the address line (see :func:`address_parts`).

    A postcode written in the address separates homonyms even when the file has a commune
    column ("Celles" + "Le bourg, 34700 Celles"); a commune is taken from the address only when
    the postcode column is empty or agrees with it. Each distinct address is read once.
    """
    need = ((adresse != "") & ((code_postal == "") | (commune == ""))).to_numpy()
    if not need.any():
        return code_postal, commune
    lines = adresse.to_numpy(dtype=object)[need]
    table = {a: address_parts(a) for a in pd.unique(lines)}
    found_cp = np.array([table[a][0] for a in lines], dtype=object)
    found_commune = np.array([table[a][1] for a in lines], dtype=object)
    cp_given = code_postal.to_numpy(dtype=object)[need]
    cleaned = {v: clean_postcode(v) for v in pd.unique(cp_given)}
    agrees = (cp_given == "") | (np.array([cleaned[v] for v in cp_given], dtype=object) == found_cp)
    cp_out, commune_out = code_postal.to_numpy(dtype=object).copy(), commune.to_numpy(dtype=object).copy()
    rows = np.flatnonzero(need)
    take_cp = (cp_given == "") & (found_cp != "")
    take_commune = (commune_out[rows] == "") & (found_commune != "") & agrees
    cp_out[rows[take_cp]] = found_cp[take_cp]
    commune_out[rows[take_commune]] = found_commune[take_commune]
    return pd.Series(cp_out, index=code_postal.index, dtype=object), pd.Series(commune_out, index=commune.index, dtype=object)


def clean_postcode(value) -> str:
    """Five-digit postcode or ``""``: restores leading zeros stripped by spreadsheets (9400 -> 09400)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value).strip().removesuffix(".0")
    m = _POSTCODE_VALUE.match(text)
    if not m:
        return ""
    return m.group(1) + m.group(2) if m.group(1) else m.group(3).zfill(5)


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
        self._written_of = {code: _with_article(name) for code, name in self.names.items()}
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

    def _approximate(self, name: str, pool: list[str]) -> tuple[list[str], str]:
        """Communes of ``pool`` a shortened or lengthened name stands for, and how (``nom_ambigu`` when several)."""
        if not name or not pool:
            return [], ""
        # A whole-word prefix of exactly one commune ("Cordes" -> "Cordes-sur-Ciel").
        prefixed = [c for c in pool if self._norm_of[c].startswith(name + " ")]
        if len(prefixed) == 1:
            return prefixed, "nom_partiel"
        # A commune name followed by a locality ("Marseillan-Plage", "Salmiech-Cassagnes"): longest such name.
        within = [c for c in pool if name.startswith(self._norm_of[c] + " ")]
        if within:
            return [max(within, key=lambda c: len(self._norm_of[c]))], "nom_partiel"
        if prefixed:
            return prefixed, "nom_ambigu"  # "Balaruc" + 34540: Balaruc-les-Bains or Balaruc-le-Vieux
        close = difflib.get_close_matches(name, [self._norm_of[c] for c in pool], n=2, cutoff=0.85)
        if close:
            hits = [c for c in pool if self._norm_of[c] == close[0]]
            if len(hits) == 1:
                return hits, "nom_approche"
        return [], ""

    def _ambiguous(self, commune, candidates: list[str], cp: str) -> Match:
        """Several communes of the postcode fit the name: placed at the most populous, to be checked."""
        best = max(candidates, key=lambda c: self.population[c])
        listed = ", ".join(f"{self.names[c]} ({c})" for c in sorted(candidates, key=lambda c: -self.population[c]))
        return Match(
            best,
            "nom_ambigu",
            f"commune {commune!r} ambiguë même avec le code postal {cp} : {listed} ; placée à {self.names[best]}, la plus peuplée ; "
            "corrigez la commune ou ajoutez le code INSEE",
        )

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
        written = _with_article(commune)
        for i, name in enumerate(names):
            for index, label in ((self.by_name, None), (self.old_by_name, "ancien_nom")):
                candidates = index.get(name, [])
                if not candidates:
                    continue
                kept, how = self._filter(candidates, postcode_communes, dep)
                if len(kept) > 1 and label is None and i == 0 and written != name:
                    # The article written settles homonyms that differ by it only ("Le Vernet", not "Vernet").
                    same = [c for c in kept if self._written_of[c] == written]
                    kept = same if len(same) == 1 else kept
                if len(kept) == 1:
                    motif = "" if label is None and i == 0 else f"nom {commune!r} reconnu comme {self.names[kept[0]]}"
                    return Match(kept[0], label or how, motif)
                if len(kept) > 1 and how == "nom_code_postal":
                    return self._ambiguous(commune, kept, cp)
                if kept or not (postcode_communes or dep):
                    where = f" dans le département {dep}" if how == "nom_departement" else ""
                    return Match(None, "", f"commune {commune!r} ambiguë{where} ({len(kept)} communes de ce nom) : ajoutez le code postal ou le code INSEE")
        pool = postcode_communes or self.by_department.get(dep, [])
        for name in names:
            found, how = self._approximate(name, pool)
            if how == "nom_ambigu" and postcode_communes:
                return self._ambiguous(commune, found, cp)
            if how == "nom_ambigu":
                listed = ", ".join(sorted(self.names[c] for c in found)[:5]) + ("…" if len(found) > 5 else "")
                return Match(
                    None, "", f"commune {commune!r} ambiguë dans le département {dep} ({len(found)} communes : {listed}) : ajoutez le code postal ou le code INSEE"
                )
            if found:
                return Match(found[0], how, f"commune {commune!r} rapprochée de {self.names[found[0]]} ({found[0]})")
        given = f"commune {commune!r} non reconnue" if names else "aucune commune indiquée"
        if len(postcode_communes) == 1:
            only = postcode_communes[0]
            return Match(only, "code_postal", f"{given} : placée d'après le code postal {cp} seul ({self.names[only]}, seule commune desservie)")
        if postcode_communes:
            best = max(postcode_communes, key=lambda c: self.population[c])
            return Match(
                best,
                "code_postal_partage",
                f"{given} ; code postal {cp} partagé par {len(postcode_communes)} communes : "
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
        # Each distinct (commune, postcode, code, department) is resolved once; factorised column by column
        # (a fixed-width text array of every row, as np.unique needs, took hundreds of MB at 200,000 rows).
        inverse, distinct = pd.MultiIndex.from_frame(keys).factorize()
        matches = [self.resolve_one(*(str(v) for v in row)) for row in distinct]
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

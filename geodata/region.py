"""The region rule: whether what a row declares (department, postcode, INSEE code, region, coordinates) lies in Occitanie."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from geodata.reference import REGION_CODE, REGION_NAME, Reference, communes_at

#: The reason given to rows set aside because they lie outside the region (import report, batch report).
OUTSIDE = f"hors {REGION_NAME}"
#: How a region column may name Occitanie: its name and code, and the two former regions it joined in 2016.
_REGION_NAMES = {"occitanie", REGION_CODE, "languedoc roussillon", "midi pyrenees", "languedoc roussillon midi pyrenees",
                 "occitanie pyrenees mediterranee"}  # fmt: skip


def _key(text, keep: str = "a-z0-9") -> str:
    """Lower case, no accents, words separated by one space: "Hautes-Pyrénées" -> "hautes pyrenees"."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(f"[^{keep}]+", " ", text).split())


def department_code(value, names: dict[str, str]) -> str:
    """Department code from a declared value: "9", "09", "Ariège", "09 - Ariège", "ARIEGE" (``names``: key -> code); "" if unknown.

    >>> department_code("09 - Ariège", {}), department_code("ARIEGE", {"ariege": "09"}), department_code("2a", {})
    ('09', '09', '2A')
    """
    text = str(value or "").strip()
    m = re.match(r"^(\d{1,3}|2[AB])\b", text, re.IGNORECASE)
    if m:
        return m.group(1).upper().zfill(2)
    return names.get(_key(text, "a-z"), "")


def department_names(reference: Reference) -> dict[str, str]:
    """Names of the region's departments, as :func:`department_code` looks them up."""
    deps = reference.departements
    return {_key(n, "a-z"): c for c, n in zip(deps["code_departement"], deps["nom"])}


def declared_departments(values: pd.Series, reference: Reference) -> pd.Series:
    """The department code each declared value names ("" when empty or not a department of the region by name)."""
    names = department_names(reference)
    return values.map(lambda v: department_code(v, names))


def where_points(reference: Reference, lon, lat) -> pd.DataFrame:
    """Where coordinates fall: ``code_insee`` of the commune of the region containing each point (missing outside),
    and ``swapped``, True when the point is outside but (latitude, longitude) read the other way round is inside.

    Only a swap that lands in the region is called a swap: a museum of the Ain is outside, not inverted.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    codes = communes_at(reference.communes, lon, lat)
    swapped = pd.Series(False, index=codes.index)
    out = codes.isna().to_numpy() & ~(np.isnan(lon) | np.isnan(lat))
    if out.any():
        swapped[out] = communes_at(reference.communes, lat[out], lon[out]).notna().to_numpy()  # x <- latitude: the other way round
    return pd.DataFrame({"code_insee": codes.to_numpy(), "swapped": swapped.to_numpy()})


def _postcode_department(cp: str) -> str:
    if not cp:
        return ""
    if cp.startswith("97"):
        return cp[:3]
    if cp.startswith("20"):
        return "2A" if cp < "20200" else "2B"
    return cp[:2]


def outside_reasons(actors: pd.DataFrame, reference: Reference, *, region_column: str = "region_declaree",
                    department_column: str = "departement_declare") -> pd.Series:
    """Why each row lies outside the region, in French ("" when nothing it declares says so).

    Checked: the declared region, the declared department, the postcode (a CEDEX code of one of the
    region's departments is in), the INSEE code and the coordinates (``latitude``/``longitude``,
    cleaned strings). The region's own departments come from ``reference``.
    """
    deps = set(reference.departements["code_departement"])
    known_postcodes = set(reference.codes_postaux["code_postal"])
    names = department_names(reference)
    index = actors.index
    col = lambda name: actors[name].fillna("").astype(str).str.strip() if name in actors else pd.Series("", index=index)  # noqa: E731
    region, department, cp, insee = col(region_column), col(department_column), col("code_postal"), col("code_insee")
    lat = pd.to_numeric(col("latitude").str.replace(",", ".", regex=False), errors="coerce")
    lon = pd.to_numeric(col("longitude").str.replace(",", ".", regex=False), errors="coerce")
    given = (lat.notna() & lon.notna()).to_numpy()
    point_codes = pd.Series(pd.NA, index=index, dtype=object)
    if given.any():
        point_codes[given] = where_points(reference, lon[given], lat[given])["code_insee"].to_numpy()
    reasons = []
    for r, d, p, i, pos, pc, la, lo in zip(region, department, cp, insee, range(len(index)), point_codes, lat, lon):
        why = []
        if r and _key(r) not in _REGION_NAMES:
            why.append(f"région déclarée « {r} »")
        code = department_code(d, names)
        if code and code not in deps:  # a name the region does not know may be a spelling of one of its own: not a reason
            why.append(f"département déclaré « {d} »")
        if p and p not in known_postcodes and _postcode_department(p) not in deps:
            why.append(f"code postal {p}")
        if i and i[:2] not in deps:
            why.append(f"code INSEE {i}")
        if given[pos] and pd.isna(pc):
            why.append(f"coordonnées ({la:.5f}, {lo:.5f})")
        reasons.append(f"{OUTSIDE} : " + ", ".join(why) if why else "")
    return pd.Series(reasons, index=index, dtype=object)

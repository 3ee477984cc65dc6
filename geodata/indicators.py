"""Actor counts by department, intercommunality (EPCI) and commune, absolute and per 10,000 inhabitants."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

PER = 10_000
#: Decimals of the indicator (3: a commune of 30,000 inhabitants with one actor shows 0.333).
DECIMALS = 3
#: Below this population a rate per 10,000 inhabitants is not compared: one actor in a 129-inhabitant village makes
#: 775 per 10,000, a hundred times a city's rate. From 2,000 inhabitants on, one actor makes at most 5 per 10,000,
#: the order of the department rates; smaller areas are flagged (``taux_comparable`` False) and left out of the rate map.
RATE_MIN_POPULATION = 2_000


def count_by(keys: pd.Series, codes: pd.Series) -> pd.Series:
    """How many of ``codes`` fall on each of ``keys`` (0 where none; missing codes are counted nowhere)."""
    counts = pd.Series(codes).dropna().astype(str).value_counts()
    return pd.Series(keys).astype(str).map(counts).fillna(0).astype("int64")


def per_10000_inhabitants(count: pd.Series, population: pd.Series) -> pd.Series:
    """Actors per 10,000 inhabitants, rounded to :data:`DECIMALS`; NaN where the population is unknown or zero.

    >>> per_10000_inhabitants(pd.Series([3, 1, 2]), pd.Series([12_000, 30_000, 0])).tolist()
    [2.5, 0.333, nan]
    """
    pop = pd.to_numeric(population, errors="coerce").astype(float)
    rate = count.astype(float) / pop.where(pop > 0) * PER
    return rate.round(DECIMALS)


def comparable_rate(population: pd.Series) -> pd.Series:
    """Whether an area is populous enough (:data:`RATE_MIN_POPULATION`) for its rate per 10,000 inhabitants to be compared.

    >>> comparable_rate(pd.Series([129, 2_000, None])).tolist()
    [False, True, False]
    """
    return pd.to_numeric(population, errors="coerce").fillna(0).astype(float) >= RATE_MIN_POPULATION


def actors_by_departement(actors: pd.DataFrame, departements: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per department: ``code_departement``, ``nom``, ``population``, ``acteurs``, ``acteurs_10000_hab``, geometry.

    Actors are counted where they are placed (``code_departement`` of the directory); actors
    without a location are not counted anywhere (the page says how many).
    """
    out = departements[["code_departement", "nom", "population", "geometry"]].copy()
    out["acteurs"] = count_by(out["code_departement"], actors["code_departement"])
    out["acteurs_10000_hab"] = per_10000_inhabitants(out["acteurs"], out["population"])
    out["taux_comparable"] = comparable_rate(out["population"])
    return out.sort_values("code_departement").reset_index(drop=True)


def actors_by_commune(actors: pd.DataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per commune of Occitanie: ``code_insee``, ``nom``, ``code_departement``, its intercommunality (``code_epci``,
    ``nom_epci``, when the reference has them), ``population``, ``acteurs``, ``acteurs_10000_hab``, geometry."""
    epci = [c for c in ("code_epci", "nom_epci") if c in communes.columns]
    out = communes[["code_insee", "nom", "code_departement", *epci, "population", "geometry"]].copy()
    out["acteurs"] = count_by(out["code_insee"], actors["code_insee_lieu"])
    out["acteurs_10000_hab"] = per_10000_inhabitants(out["acteurs"], out["population"])
    out["taux_comparable"] = comparable_rate(out["population"])
    return out.sort_values(["acteurs", "code_insee"], ascending=[False, True]).reset_index(drop=True)


def actors_by_epci(actors: pd.DataFrame, epci: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per intercommunality touching Occitanie: ``code_epci``, ``nom``, ``type_epci``, ``departements``, ``population``,
    ``hors_region``, ``acteurs``, ``acteurs_10000_hab``, geometry.

    Figures are those of the EPCI's Occitanie part (``hors_region`` flags one that crosses the regional border).
    """
    out = epci[["code_epci", "nom", "type_epci", "departements", "population", "hors_region", "geometry"]].copy()
    out["acteurs"] = count_by(out["code_epci"], actors["code_epci"])
    out["acteurs_10000_hab"] = per_10000_inhabitants(out["acteurs"], out["population"])
    out["taux_comparable"] = comparable_rate(out["population"])
    return out.sort_values(["acteurs", "code_epci"], ascending=[False, True]).reset_index(drop=True)


def is_count(values) -> bool:
    """Whether every known value is a whole number (counts get whole-number class limits)."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(dtype=float)
    return bool(np.all(v == np.round(v)))


def class_breaks(values, *, classes: int = 5) -> list[float]:
    """Upper bounds of at most ``classes`` quantile classes of the positive values (zero is its own class).

    Counts get whole-number bounds (a count of 6.8 or a class « 8 – 8.2 » cannot hold anyone):

    >>> class_breaks([1, 1, 2, 3, 5, 8, 13])
    [2.0, 3.0, 5.0, 8.0, 13.0]
    """
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    v = v[v > 0].to_numpy(dtype=float)
    if v.size == 0:
        return []
    qs = np.quantile(v, np.linspace(0, 1, classes + 1)[1:])
    if is_count(v):
        qs = np.ceil(qs)
    return sorted(set(float(q) for q in qs))

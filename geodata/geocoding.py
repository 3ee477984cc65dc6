"""Geocoding chain of the directory: provided coordinates, persistent cache, national address service, offline gazetteer."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import unicodedata
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd

from geodata.errors import NetworkError
from geodata.gazetteer import DOUBTFUL, METHODS, clean_postcode, gazetteer_for
from geodata.settings import Settings, get_settings
from geodata.territory import Reference, communes_at

#: Precision of a placement, from the finest; "manual" and "provided" come from people, not from a geocoder.
PRECISIONS = ("housenumber", "street", "locality", "municipality", "manual", "provided")
PRECISION_LABELS = {
    "housenumber": "numéro de rue",
    "street": "rue",
    "locality": "lieu-dit",
    "municipality": "commune",
    "manual": "correction manuelle",
    "provided": "coordonnées du fichier",
    "": "non localisé",
}
#: Where a placement comes from.
SOURCES = {
    "geoplateforme": "service national d'adresses (IGN Géoplateforme)",
    "gazetteer": "référentiel des communes (hors ligne)",
    "fichier": "coordonnées du fichier importé",
    "correction": "correction manuelle",
    "": "aucune",
}
#: Values of ``geocodage_statut``.
OK, REVIEW, UNPLACED = "ok", "à vérifier", "non localisé"
#: Result columns, aligned on the input rows.
COLUMNS = (
    "longitude_lieu",
    "latitude_lieu",
    "geocodage_source",
    "geocodage_precision",
    "geocodage_score",
    "geocodage_libelle",
    "geocodage_code_insee",
    "geocodage_statut",
    "geocodage_motif",
    "geocodage_cache",
)
#: Consecutive failed lots after which the chain stops asking the service (it is down).
MAX_FAILED_LOTS = 2
#: Rows sent in one request to the bulk endpoint (the service accepts far more; small lots resume finely).
CHUNK_SIZE = 200

Progress = Callable[[int, int, str], None]

_STREET = re.compile(
    r"\b\d{1,4}\s*(?:bis|ter|b)?\s*,?\s*(?:rue|avenue|av\.?|bd|boulevard|place|pl\.?|all[ée]es?|chemin|ch\.?|route|rte|impasse|quai|cours|"
    r"esplanade|square|promenade|voie|traverse|mont[ée]e|rond-point|parvis|passage|faubourg|lotissement|domaine|hameau)\b",
    re.IGNORECASE,
)
_FULL_ADDRESS = r"^(.*?)[,\s]+(\d{5})\s+([^\d,;]+?)\s*$"
_BOXES = re.compile(r"\b(?:BP|CS|B\.P\.|TSA)\s*\d+\b", re.IGNORECASE)


# -- queries and keys ----------------------------------------------------------------------------


def street_part(adresse: str) -> str:
    """The street part of an address line: building and institution names before a house number dropped, BP/CS boxes removed.

    >>> street_part("Université de Montpellier UFR Odontologie 545, rue du Professeur Vialla")
    '545, rue du Professeur Vialla'
    """
    text = _BOXES.sub(" ", str(adresse or ""))
    m = _STREET.search(text)
    if m:
        text = text[m.start() :]
    return " ".join(text.replace(" - ", " ").split()).strip(" ,-")


def address_key(query: str, postcode: str) -> str:
    """Normalised cache key of a query: no accents, case or punctuation differences."""
    text = unicodedata.normalize("NFKD", f"{query} {postcode}").encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _commune_for_query(commune: str) -> str:
    text = re.sub(r"\bcedex\b.*$", "", str(commune or ""), flags=re.IGNORECASE)
    return " ".join(text.split())


# -- persistent cache ----------------------------------------------------------------------------


class GeocodeCache:
    """Answers of the national service kept in SQLite, keyed by normalised query; survives restarts.

    Only real answers are stored (a found address or a "not found"); failed requests never are.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con, con:
            con.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, service TEXT, answer TEXT, created REAL)")

    def _connect(self):
        return sqlite3.connect(self.path, timeout=30)

    def get_many(self, keys) -> dict[str, dict]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, dict] = {}
        with closing(self._connect()) as con:
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                for key, answer in con.execute(f"SELECT key, answer FROM answers WHERE key IN ({marks})", part):  # noqa: S608 (placeholders only)
                    out[key] = json.loads(answer)
        return out

    def put_many(self, answers: dict[str, dict], *, service: str) -> None:
        now = time.time()
        with closing(self._connect()) as con, con:
            con.executemany(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)", [(k, service, json.dumps(v, ensure_ascii=False), now) for k, v in answers.items()]
            )

    def __len__(self) -> int:
        with closing(self._connect()) as con:
            return int(con.execute("SELECT COUNT(*) FROM answers").fetchone()[0])


def default_cache(settings: Settings) -> GeocodeCache:
    return GeocodeCache(Path(settings.cache_dir) / "geocodage" / "reponses.sqlite")


def default_client(settings: Settings):
    from geodata._geoplateforme import GeoplateformeClient

    return GeoplateformeClient(settings.geocoder_url, timeout=settings.http_timeout, user_agent=settings.user_agent)


# -- parsing of answers (pure) -------------------------------------------------------------------


def answer_from_feature(feature: dict | None) -> dict:
    """Normalise a GeoCodeJSON feature (single search) to a cache answer."""
    if not feature:
        return {"found": False}
    props = feature.get("properties") or {}
    lon, lat = feature["geometry"]["coordinates"][:2]  # GeoJSON order: lon, lat
    return {
        "found": True,
        "lon": float(lon),
        "lat": float(lat),
        "type": str(props.get("type", "")),
        "score": float(props.get("score", 0) or 0),
        "label": str(props.get("label", "")),
        "citycode": str(props.get("citycode", "")),
    }


def answer_from_bulk_row(row: dict) -> dict | None:
    """Normalise a row of the bulk CSV answer; ``None`` when the service reports an error for that row."""
    status = (row.get("result_status") or "").strip()
    if status in ("error", "skipped"):
        return None
    try:
        lat, lon = float(row.get("latitude") or "nan"), float(row.get("longitude") or "nan")
    except ValueError:
        return None
    if status == "not-found" or np.isnan(lat) or np.isnan(lon):
        return {"found": False}
    return {
        "found": True,
        "lon": lon,
        "lat": lat,
        "type": (row.get("result_type") or "").strip(),
        "score": float(row.get("result_score") or 0),
        "label": (row.get("result_label") or "").strip(),
        "citycode": (row.get("result_citycode") or "").strip(),
    }


# -- the chain -----------------------------------------------------------------------------------


def _unique_map(values: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` once per distinct value."""
    uniq = pd.unique(values.to_numpy(dtype=object))
    table = dict(zip(uniq, (fn(v) for v in uniq)))
    return pd.Series([table[v] for v in values.to_numpy(dtype=object)], index=values.index, dtype=object)


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        return pd.Series([""] * len(df), index=df.index, dtype=object)
    return df[name].astype(object).where(df[name].notna(), "").astype(str).str.strip()


def geocode_actors(
    actors: pd.DataFrame,
    *,
    reference: Reference,
    settings: Settings | None = None,
    offline: bool | None = None,
    client=None,
    cache: GeocodeCache | None = None,
    progress: Progress | None = None,
    bulk: bool = True,
    chunk_size: int = CHUNK_SIZE,
) -> pd.DataFrame:
    """Place every actor and say how: source, precision, score, status and reason.

    The chain: coordinates of the file (checked to lie in Occitanie) -> answers already in the
    cache -> the national address service for rows with a street address (bulk CSV by lots, each
    lot cached as soon as it is answered, so an interrupted batch resumes) -> the offline commune
    gazetteer. Results under ``settings.geocoder_min_score``, service failures and doubtful
    commune matches are placed when possible but marked ``à vérifier``.

    Parameters
    ----------
    actors : DataFrame
        Schema columns (``adresse``, ``code_postal``, ``commune``, ``code_insee``, ``latitude``, ``longitude``; optional
        ``departement_declare``).
    reference : Reference
    settings : Settings, optional
    offline : bool, optional
        No network at all; defaults to ``settings.offline``.
    client : GeoplateformeClient, optional
        Defaults to one built from the settings.
    cache : GeocodeCache, optional
        Defaults to ``settings.cache_dir/geocodage/reponses.sqlite``.
    progress : callable, optional
        ``progress(done, total, message)`` called as lots are answered.
    bulk : bool
        Use the bulk CSV endpoint (else one request per address, for comparison).

    Returns
    -------
    DataFrame with :data:`COLUMNS`, same index as ``actors``.
    """
    settings = settings or get_settings()
    offline = settings.offline if offline is None else offline
    n = len(actors)
    index = actors.index
    out = pd.DataFrame(
        {
            "longitude_lieu": np.full(n, np.nan),
            "latitude_lieu": np.full(n, np.nan),
            "geocodage_source": [""] * n,
            "geocodage_precision": [""] * n,
            "geocodage_score": np.full(n, np.nan),
            "geocodage_libelle": [""] * n,
            "geocodage_code_insee": [""] * n,
            "geocodage_statut": [UNPLACED] * n,
            "geocodage_motif": [""] * n,
            "geocodage_cache": [False] * n,
        },
        index=index,
    )
    if n == 0:
        return out
    adresse, cp, commune = _col(actors, "adresse"), _col(actors, "code_postal"), _col(actors, "commune")
    # A single "full address" column ("12 rue X 31000 Toulouse"): take postcode and commune from it.
    whole = (cp == "") & (commune == "") & (adresse != "")
    if whole.any():
        parts = adresse[whole].str.extract(_FULL_ADDRESS)
        found = parts[1].notna()
        cp, commune = cp.copy(), commune.copy()
        cp[parts.index[found]] = parts.loc[found, 1]
        commune[parts.index[found]] = parts.loc[found, 2].str.strip()
    gaz = gazetteer_for(reference).resolve(commune, cp, _col(actors, "code_insee"), _col(actors, "departement_declare"))
    gaz.index = index

    def set_rows(mask, **values):
        for key, value in values.items():
            out.loc[mask, key] = value

    # 1. Coordinates of the file.
    lon = pd.to_numeric(_col(actors, "longitude").str.replace(",", ".", regex=False), errors="coerce").astype(object)
    lat = pd.to_numeric(_col(actors, "latitude").str.replace(",", ".", regex=False), errors="coerce").astype(object)
    given = lon.notna() & lat.notna()
    if given.any():
        inside = pd.Series(False, index=index)
        codes = communes_at(reference.communes, lon[given].astype(float), lat[given].astype(float))
        inside[given] = codes.notna().to_numpy()
        out.loc[given, "geocodage_code_insee"] = codes.fillna("").to_numpy()
        set_rows(given & inside, longitude_lieu=lon[given & inside].astype(float), latitude_lieu=lat[given & inside].astype(float),
                 geocodage_source="fichier", geocodage_precision="provided", geocodage_statut=OK)
        outside = given & ~inside
        if outside.any():
            for i in index[outside]:
                where = f"coordonnées du fichier ({lat[i]:.5f}, {lon[i]:.5f}) hors d'Occitanie"
                if gaz.at[i, "code_insee"] is not None and pd.notna(gaz.at[i, "code_insee"]):
                    out.loc[i, ["longitude_lieu", "latitude_lieu"]] = [gaz.at[i, "lon"], gaz.at[i, "lat"]]
                    out.loc[i, ["geocodage_source", "geocodage_precision", "geocodage_code_insee", "geocodage_statut"]] = [
                        "gazetteer", "municipality", gaz.at[i, "code_insee"], REVIEW]
                    out.at[i, "geocodage_motif"] = f"{where} : ignorées, acteur placé à sa commune ; vérifiez les coordonnées"
                else:
                    out.loc[i, ["longitude_lieu", "latitude_lieu", "geocodage_source", "geocodage_precision", "geocodage_statut"]] = [
                        lon[i], lat[i], "fichier", "provided", REVIEW]
                    out.at[i, "geocodage_motif"] = f"{where} : vérifiez les coordonnées (latitude et longitude inversées ?)"
    todo = ~given

    # 2-3. The national service (through the cache) for rows with a street address.
    # Work on unique address lines: surveys repeat them, and 50,000 rows must stay fast.
    street = _unique_map(adresse, street_part)
    online_rows = todo & (street != "")
    keys = pd.Series("", index=index, dtype=object)
    query = pd.Series("", index=index, dtype=object)
    known_postcodes = set(reference.codes_postaux["code_postal"])
    postcode = _unique_map(cp, clean_postcode)
    postcode = postcode.where(postcode.isin(known_postcodes), "")  # CEDEX codes are not postcodes
    if online_rows.any():
        query[online_rows] = (street[online_rows] + " " + _unique_map(commune[online_rows], _commune_for_query)).str.strip().str.slice(0, 200)
        pairs = query[online_rows] + "|" + postcode[online_rows]
        keys[online_rows] = _unique_map(pairs, lambda qp: address_key(*qp.rsplit("|", 1)))
    cache = default_cache(settings) if cache is None else cache
    answers = cache.get_many(keys[online_rows]) if online_rows.any() else {}
    from_cache = online_rows & keys.isin(answers.keys())
    out.loc[from_cache, "geocodage_cache"] = True
    missing = online_rows & ~keys.isin(answers.keys())
    failures: dict[str, str] = {}
    total = int(online_rows.sum())
    done = int(from_cache.sum())
    if progress:
        progress(done, total, f"{done} adresses déjà connues (cache)")
    if missing.any() and offline:
        failures.update({k: "mode hors ligne : adresse non envoyée au service national" for k in keys[missing]})
    elif missing.any():
        client = default_client(settings) if client is None else client
        todo_keys = keys[missing].drop_duplicates()
        jobs = pd.DataFrame({"key": todo_keys.to_numpy(), "q": query[todo_keys.index].to_numpy(), "postcode": postcode[todo_keys.index].to_numpy()})
        per_key_rows = keys[missing].value_counts()
        step = chunk_size if bulk else 1
        broken = 0
        for start in range(0, len(jobs), step):
            lot = jobs.iloc[start : start + step]
            got: dict[str, dict] = {}
            try:
                if bulk:
                    rows = [{"cle": k, "q": q, "postcode": p} for k, q, p in zip(lot["key"], lot["q"], lot["postcode"])]
                    answered = client.search_csv(rows, columns=["q"], postcode_column="postcode")
                    sent = set(lot["key"])
                    for row in answered:
                        parsed = answer_from_bulk_row(row)
                        if parsed is not None and row.get("cle") in sent:
                            got[row["cle"]] = parsed
                else:
                    k, q, p = lot.iloc[0]
                    got[k] = answer_from_feature(client.search(q, postcode=p))
            except NetworkError as exc:
                failures.update({k: f"service national indisponible ({exc})" for k in lot["key"]})
                broken += 1
                if broken >= MAX_FAILED_LOTS:
                    # The service is down: do not make the user wait for every lot to fail in turn.
                    rest_keys = jobs["key"].iloc[start + step :]
                    failures.update({k: f"service national indisponible, lots suivants non envoyés ({exc})" for k in rest_keys})
                    break
            else:
                broken = 0
                for k in lot["key"]:
                    if k not in got:
                        failures[k] = "le service national n'a pas donné de réponse pour cette adresse"
            if got:
                cache.put_many(got, service=getattr(client, "_root", "service"))
                answers.update(got)
            done += int(per_key_rows.reindex(lot["key"]).sum())
            if progress:
                progress(done, total, f"{done}/{total} adresses géocodées")

    if progress and done < total:
        progress(total, total, "adresses restantes placées à la commune (hors ligne)")
    min_score = settings.geocoder_min_score
    if online_rows.any():
        rows_on = index[online_rows]
        fields = ("found", "lon", "lat", "type", "score", "label", "citycode")
        records = [answers.get(k) or {} for k in keys[online_rows]]
        ans = pd.DataFrame({f: [r.get(f) for r in records] for f in fields}, index=rows_on)
        found = ans["found"].eq(True)
        score = pd.to_numeric(ans["score"], errors="coerce")
        label = ans["label"].fillna("").astype(str)
        not_found = ans["found"].eq(False)
        low = found & (score < min_score)
        g_dep = gaz.loc[rows_on, "code_insee"].fillna("").astype(str).str[:2]
        a_dep = ans["citycode"].fillna("").astype(str).str[:2]
        elsewhere = found & ~low & (g_dep != "") & (a_dep != "") & (g_dep != a_dep)
        good = found & ~low & ~elsewhere
        for k in keys[rows_on[not_found.to_numpy()]]:
            failures[k] = "adresse introuvable par le service national"
        for k, sc, lab in zip(keys[rows_on[low.to_numpy()]], score[low], label[low]):
            failures[k] = f"score {sc:.2f} du service national sous le seuil {min_score:g} ({lab!r})"
        for k, lab in zip(keys[rows_on[elsewhere.to_numpy()]], label[elsewhere]):
            failures[k] = f"le service national place l'adresse hors du département déclaré ({lab!r})"
        shown = low | elsewhere
        out.loc[shown[shown].index, "geocodage_libelle"] = label[shown]
        out.loc[low[low].index, "geocodage_score"] = score[low]
        g = good[good].index
        if len(g):
            kind = ans.loc[g, "type"].fillna("").astype(str)
            out.loc[g, "longitude_lieu"] = ans.loc[g, "lon"].astype(float)
            out.loc[g, "latitude_lieu"] = ans.loc[g, "lat"].astype(float)
            out.loc[g, "geocodage_source"] = "geoplateforme"
            out.loc[g, "geocodage_precision"] = kind.where(kind.isin(PRECISIONS[:4]), "locality")
            out.loc[g, "geocodage_libelle"] = label[g]
            out.loc[g, "geocodage_code_insee"] = ans.loc[g, "citycode"].fillna("").astype(str)
            out.loc[g, "geocodage_statut"] = OK
            out.loc[g, "geocodage_score"] = score[g]
            out.loc[g, "geocodage_motif"] = ""
            todo[g] = False

    # 4. The offline gazetteer for every row still unplaced.
    rest = todo
    placed = rest & gaz["code_insee"].notna()
    set_rows(placed, longitude_lieu=gaz.loc[placed, "lon"], latitude_lieu=gaz.loc[placed, "lat"], geocodage_source="gazetteer",
             geocodage_precision="municipality", geocodage_code_insee=gaz.loc[placed, "code_insee"], geocodage_statut=OK)
    doubtful = placed & gaz["methode"].isin(DOUBTFUL)
    out.loc[doubtful, "geocodage_statut"] = REVIEW
    out.loc[placed, "geocodage_motif"] = gaz.loc[placed, "motif"]
    # An INSEE code that names another commune than the commune column: placed by the code, to check.
    by_code = placed & (gaz["methode"] == "code_insee") & (commune != "")
    if by_code.any():
        named = gazetteer_for(reference).resolve(commune[by_code], cp[by_code])["code_insee"].to_numpy()
        clash = pd.Series(False, index=index)
        clash[by_code] = pd.notna(named) & (named != gaz.loc[by_code, "code_insee"].to_numpy())
        names = gazetteer_for(reference).names
        out.loc[clash, "geocodage_statut"] = REVIEW
        out.loc[clash, "geocodage_motif"] = [
            f"code INSEE {c!r} ({names.get(c, '?')}) différent de la commune déclarée {n!r} : placé d'après le code, vérifiez"
            for c, n in zip(gaz.loc[clash, "code_insee"], commune[clash])
        ]
    real_failures = {k: v for k, v in failures.items() if "hors ligne" not in v}
    failed = rest & keys.isin(real_failures.keys()) if real_failures else pd.Series(False, index=index)
    if failed.any():
        why = keys[failed].map(real_failures).astype(str)
        on_commune = placed[failed]
        how = gaz.loc[failed, "methode"].map(METHODS).fillna("").astype(str)
        lost_why = gaz.loc[failed, "motif"].fillna("").astype(str)
        out.loc[failed, "geocodage_statut"] = np.where(on_commune, REVIEW, UNPLACED)
        out.loc[failed, "geocodage_motif"] = np.where(
            on_commune, why + " ; placé à la commune (" + how + ")", np.where(lost_why != "", why + "; " + lost_why, why)
        )
    lost = rest & ~placed & ~failed
    out.loc[lost, "geocodage_motif"] = gaz.loc[lost, "motif"].where(gaz.loc[lost, "motif"] != "", "commune introuvable")
    out["geocodage_statut"] = out["geocodage_statut"].astype(object)
    return out


def reverse_commune(reference: Reference, lon: float, lat: float) -> str | None:
    """INSEE code of the commune at a point (offline), or ``None`` outside Occitanie."""
    code = communes_at(reference.communes, [lon], [lat]).iloc[0]
    return None if pd.isna(code) else str(code)

"""Geocoding chain of the directory: provided coordinates, persistent cache, national address service, offline gazetteer."""

from __future__ import annotations

import enum
import json
import re
import sqlite3
import time
import unicodedata
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geodata.errors import NetworkError
from geodata.gazetteer import BOXES, DOUBTFUL, METHODS, clean_postcode, fill_from_address, gazetteer_for
from geodata.reference import Reference
from geodata.region import where_points
from geodata.settings import Settings, get_settings

#: Precision of a placement, from the finest; "manual" and "provided" come from people, not from a geocoder.
PRECISIONS = ("housenumber", "street", "locality", "municipality", "manual", "provided")
#: Precisions that place an actor only at its commune: it may stand anywhere inside it (the coverage counts it as an area).
COMMUNE_LEVEL_PRECISIONS = frozenset({"municipality"})
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


# -- queries and keys ----------------------------------------------------------------------------


def street_part(adresse: str) -> str:
    """The street part of an address line: building and institution names before a house number dropped, BP/CS boxes removed.

    >>> street_part("Université de Montpellier UFR Odontologie 545, rue du Professeur Vialla")
    '545, rue du Professeur Vialla'
    """
    text = BOXES.sub(" ", str(adresse or ""))
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
    """The national service's client, built from the settings (URL, timeout, user agent)."""
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


class Failure(enum.Enum):
    """Why the national service left an address unplaced; the value is the French reason's template.

    The row then falls back to its commune (offline gazetteer), for review. Offline mode is not a
    failure: addresses are simply not sent and the gazetteer's placement stands.
    """

    UNAVAILABLE = "service national indisponible ({})"
    NOT_SENT = "service national indisponible, lots suivants non envoyés ({})"
    NO_ANSWER = "le service national n'a pas donné de réponse pour cette adresse"
    NOT_FOUND = "adresse introuvable par le service national"
    LOW_SCORE = "score {:.2f} du service national sous le seuil {:g} ({!r})"
    ELSEWHERE = "le service national place l'adresse hors du département déclaré ({!r})"

    def reason(self, *details) -> str:
        return self.value.format(*details)


@dataclass(frozen=True)
class _Input:
    """The columns the chain reads, cleaned, aligned on the actors; ``gaz`` is the gazetteer's answer per row."""

    adresse: pd.Series
    postcode: pd.Series
    commune: pd.Series
    lon: pd.Series
    lat: pd.Series
    gaz: pd.DataFrame


@dataclass(frozen=True)
class _Queries:
    """Rows sent to the national service (``rows``), with their query, postcode and cache key."""

    rows: pd.Series
    keys: pd.Series
    query: pd.Series
    postcode: pd.Series


def _unique_map(values: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` once per distinct value."""
    uniq = pd.unique(values.to_numpy(dtype=object))
    table = dict(zip(uniq, (fn(v) for v in uniq)))
    return pd.Series([table[v] for v in values.to_numpy(dtype=object)], index=values.index, dtype=object)


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        return pd.Series([""] * len(df), index=df.index, dtype=object)
    return df[name].astype(object).where(df[name].notna(), "").astype(str).str.strip()


def _coordinate(actors: pd.DataFrame, name: str) -> pd.Series:
    return pd.to_numeric(_col(actors, name).str.replace(",", ".", regex=False), errors="coerce").astype(object)


def _empty_result(index: pd.Index) -> pd.DataFrame:
    n = len(index)
    return pd.DataFrame(
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


def _set_rows(out: pd.DataFrame, mask, **values) -> None:
    for key, value in values.items():
        out.loc[mask, key] = value


def _read_input(actors: pd.DataFrame, reference: Reference) -> _Input:
    adresse, cp, commune = _col(actors, "adresse"), _col(actors, "code_postal"), _col(actors, "commune")
    # Postcode and commune written in the address line ("12 rue X, 31000 Toulouse") complete empty columns.
    cp, commune = fill_from_address(adresse, cp, commune)
    gaz = gazetteer_for(reference).resolve(commune, cp, _col(actors, "code_insee"), _col(actors, "departement_declare"))
    gaz.index = actors.index
    return _Input(adresse, cp, commune, _coordinate(actors, "longitude"), _coordinate(actors, "latitude"), gaz)


def _from_file(out: pd.DataFrame, inp: _Input, reference: Reference) -> pd.Series:
    """Stage 1: coordinates of the file, kept when they lie in Occitanie; returns the rows still to place."""
    lon, lat, gaz = inp.lon, inp.lat, inp.gaz
    given = lon.notna() & lat.notna()
    if not given.any():
        return ~given
    inside, swapped = pd.Series(False, index=out.index), pd.Series(False, index=out.index)
    where = where_points(reference, lon[given].astype(float), lat[given].astype(float))
    codes = where["code_insee"]
    inside[given], swapped[given] = codes.notna().to_numpy(), where["swapped"].to_numpy()
    out.loc[given, "geocodage_code_insee"] = codes.fillna("").to_numpy()
    _set_rows(out, given & inside, longitude_lieu=lon[given & inside].astype(float), latitude_lieu=lat[given & inside].astype(float),
              geocodage_source="fichier", geocodage_precision="provided", geocodage_statut=OK)
    for i in out.index[given & ~inside]:
        text = f"coordonnées du fichier ({lat[i]:.5f}, {lon[i]:.5f}) hors d'Occitanie"
        if gaz.at[i, "code_insee"] is not None and pd.notna(gaz.at[i, "code_insee"]):
            out.loc[i, ["longitude_lieu", "latitude_lieu"]] = [gaz.at[i, "lon"], gaz.at[i, "lat"]]
            out.loc[i, ["geocodage_source", "geocodage_precision", "geocodage_code_insee", "geocodage_statut"]] = [
                "gazetteer", "municipality", gaz.at[i, "code_insee"], REVIEW]
            out.at[i, "geocodage_motif"] = f"{text} : ignorées, acteur placé à sa commune ; vérifiez les coordonnées"
        else:
            out.loc[i, ["longitude_lieu", "latitude_lieu", "geocodage_source", "geocodage_precision", "geocodage_statut"]] = [
                lon[i], lat[i], "fichier", "provided", REVIEW]
            # "Swapped" only when the other reading lands in the region; else the point is just elsewhere.
            check = "latitude et longitude inversées ?" if swapped[i] else "le lieu est hors de la région"
            out.at[i, "geocodage_motif"] = f"{text} : vérifiez les coordonnées ({check})"
    return ~given


def _queries(inp: _Input, todo: pd.Series, reference: Reference) -> _Queries:
    """What the national service is asked, for rows still to place that have a street address.

    Works on unique address lines: surveys repeat them, and 50,000 rows must stay fast.
    """
    index = todo.index
    street = _unique_map(inp.adresse, street_part)
    rows = todo & (street != "")
    keys = pd.Series("", index=index, dtype=object)
    query = pd.Series("", index=index, dtype=object)
    postcode = _unique_map(inp.postcode, clean_postcode)
    postcode = postcode.where(postcode.isin(set(reference.codes_postaux["code_postal"])), "")  # CEDEX codes are not postcodes
    if rows.any():
        query[rows] = (street[rows] + " " + _unique_map(inp.commune[rows], _commune_for_query)).str.strip().str.slice(0, 200)
        pairs = query[rows] + "|" + postcode[rows]
        keys[rows] = _unique_map(pairs, lambda qp: address_key(*qp.rsplit("|", 1)))
    return _Queries(rows, keys, query, postcode)


def _from_cache(out: pd.DataFrame, q: _Queries, cache: GeocodeCache) -> dict[str, dict]:
    """Stage 2: answers already in the cache (rows flagged ``geocodage_cache``)."""
    answers = cache.get_many(q.keys[q.rows]) if q.rows.any() else {}
    out.loc[q.rows & q.keys.isin(answers.keys()), "geocodage_cache"] = True
    return answers


def _from_service(q: _Queries, answers: dict[str, dict], *, client, cache: GeocodeCache, bulk: bool, chunk_size: int,
                  report: Callable[[int], None]) -> dict[str, tuple[Failure, str]]:
    """Stage 3: ask the national service for the addresses the cache lacks, by lots.

    Each answered lot is cached at once (an interrupted batch resumes) and added to ``answers``;
    returns the failures by key. ``report(rows)`` is called after each lot with the rows it covered.
    """
    missing = q.rows & ~q.keys.isin(answers.keys())
    failures: dict[str, tuple[Failure, str]] = {}
    todo_keys = q.keys[missing].drop_duplicates()
    jobs = pd.DataFrame({"key": todo_keys.to_numpy(), "q": q.query[todo_keys.index].to_numpy(), "postcode": q.postcode[todo_keys.index].to_numpy()})
    per_key_rows = q.keys[missing].value_counts()
    step = chunk_size if bulk else 1
    broken = 0
    for start in range(0, len(jobs), step):
        lot = jobs.iloc[start : start + step]
        try:
            got = _ask_bulk(client, lot) if bulk else {lot["key"].iloc[0]: answer_from_feature(client.search(lot["q"].iloc[0], postcode=lot["postcode"].iloc[0]))}
        except NetworkError as exc:
            failures.update({k: (Failure.UNAVAILABLE, Failure.UNAVAILABLE.reason(exc)) for k in lot["key"]})
            broken += 1
            if broken >= MAX_FAILED_LOTS:
                # The service is down: do not make the user wait for every lot to fail in turn.
                failures.update({k: (Failure.NOT_SENT, Failure.NOT_SENT.reason(exc)) for k in jobs["key"].iloc[start + step :]})
                break
            got = {}
        else:
            broken = 0
            failures.update({k: (Failure.NO_ANSWER, Failure.NO_ANSWER.reason()) for k in lot["key"] if k not in got})
        if got:
            cache.put_many(got, service=client.service_url)
            answers.update(got)
        report(int(per_key_rows.reindex(lot["key"]).sum()))
    return failures


def _ask_bulk(client, lot: pd.DataFrame) -> dict[str, dict]:
    rows = [{"cle": k, "q": q, "postcode": p} for k, q, p in zip(lot["key"], lot["q"], lot["postcode"])]
    sent = set(lot["key"])
    got = {}
    for row in client.search_csv(rows, columns=["q"], postcode_column="postcode"):
        parsed = answer_from_bulk_row(row)
        if parsed is not None and row.get("cle") in sent:
            got[row["cle"]] = parsed
    return got


def _place_answers(out: pd.DataFrame, q: _Queries, answers: dict[str, dict], gaz: pd.DataFrame, todo: pd.Series, *, min_score: float,
                   failures: dict[str, tuple[Failure, str]]) -> pd.Series:
    """Place the rows the service answered well; record why the others were not; returns the rows still to place."""
    if not q.rows.any():
        return todo
    rows_on = out.index[q.rows]
    keys = q.keys
    fields = ("found", "lon", "lat", "type", "score", "label", "citycode")
    records = [answers.get(k) or {} for k in keys[q.rows]]
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
        failures[k] = (Failure.NOT_FOUND, Failure.NOT_FOUND.reason())
    for k, sc, lab in zip(keys[rows_on[low.to_numpy()]], score[low], label[low]):
        failures[k] = (Failure.LOW_SCORE, Failure.LOW_SCORE.reason(sc, min_score, lab))
    for k, lab in zip(keys[rows_on[elsewhere.to_numpy()]], label[elsewhere]):
        failures[k] = (Failure.ELSEWHERE, Failure.ELSEWHERE.reason(lab))
    shown = low | elsewhere
    out.loc[shown[shown].index, "geocodage_libelle"] = label[shown]
    out.loc[low[low].index, "geocodage_score"] = score[low]
    g = good[good].index
    todo = todo.copy()
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
    return todo


def _from_gazetteer(out: pd.DataFrame, inp: _Input, rest: pd.Series, reference: Reference) -> pd.Series:
    """Stage 4: the offline gazetteer for every row still unplaced; returns the rows it placed."""
    gaz, commune = inp.gaz, inp.commune
    placed = rest & gaz["code_insee"].notna()
    _set_rows(out, placed, longitude_lieu=gaz.loc[placed, "lon"], latitude_lieu=gaz.loc[placed, "lat"], geocodage_source="gazetteer",
              geocodage_precision="municipality", geocodage_code_insee=gaz.loc[placed, "code_insee"], geocodage_statut=OK)
    out.loc[placed & gaz["methode"].isin(DOUBTFUL), "geocodage_statut"] = REVIEW
    out.loc[placed, "geocodage_motif"] = gaz.loc[placed, "motif"]
    # An INSEE code that names another commune than the commune column: placed by the code, to check.
    by_code = placed & (gaz["methode"] == "code_insee") & (commune != "")
    if by_code.any():
        gazetteer = gazetteer_for(reference)
        named = gazetteer.resolve(commune[by_code], inp.postcode[by_code])["code_insee"].to_numpy()
        clash = pd.Series(False, index=out.index)
        clash[by_code] = pd.notna(named) & (named != gaz.loc[by_code, "code_insee"].to_numpy())
        out.loc[clash, "geocodage_statut"] = REVIEW
        out.loc[clash, "geocodage_motif"] = [
            f"code INSEE {c!r} ({gazetteer.names.get(c, '?')}) différent de la commune déclarée {n!r} : placé d'après le code, vérifiez"
            for c, n in zip(gaz.loc[clash, "code_insee"], commune[clash])
        ]
    return placed


def _explain_failures(out: pd.DataFrame, inp: _Input, rest: pd.Series, placed: pd.Series, keys: pd.Series,
                      failures: dict[str, tuple[Failure, str]]) -> None:
    """Rows the service failed: at their commune for review, or unplaced, with both reasons; and why the rest stays unplaced."""
    gaz = inp.gaz
    failed = rest & keys.isin(failures.keys()) if failures else pd.Series(False, index=out.index)
    if failed.any():
        why = keys[failed].map({k: reason for k, (_, reason) in failures.items()}).astype(str)
        on_commune = placed[failed]
        how = gaz.loc[failed, "methode"].map(METHODS).fillna("").astype(str)
        lost_why = gaz.loc[failed, "motif"].fillna("").astype(str)
        out.loc[failed, "geocodage_statut"] = np.where(on_commune, REVIEW, UNPLACED)
        out.loc[failed, "geocodage_motif"] = np.where(
            on_commune, why + " ; placé à la commune (" + how + ")", np.where(lost_why != "", why + "; " + lost_why, why)
        )
    lost = rest & ~placed & ~failed
    out.loc[lost, "geocodage_motif"] = gaz.loc[lost, "motif"].where(gaz.loc[lost, "motif"] != "", "commune introuvable")


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
    commune matches are placed when possible but marked ``à vérifier``. Manual corrections are a
    later stage (:func:`geodata.corrections.apply_corrections`).

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
    out = _empty_result(actors.index)
    if len(actors) == 0:
        return out
    inp = _read_input(actors, reference)
    todo = _from_file(out, inp, reference)
    q = _queries(inp, todo, reference)
    cache = default_cache(settings) if cache is None else cache
    answers = _from_cache(out, q, cache)
    total = int(q.rows.sum())
    done = int((q.rows & q.keys.isin(answers.keys())).sum())
    if progress:
        progress(done, total, f"{done} adresses déjà connues (cache)")
    failures: dict[str, tuple[Failure, str]] = {}
    if done < total and not offline:  # offline, addresses are not sent: the gazetteer's placement stands, as no failure

        def report(rows: int) -> None:
            nonlocal done
            done += rows
            if progress:
                progress(done, total, f"{done}/{total} adresses géocodées")

        failures = _from_service(q, answers, client=default_client(settings) if client is None else client,
                                 cache=cache, bulk=bulk, chunk_size=chunk_size, report=report)
    if progress and done < total:
        progress(total, total, "adresses restantes placées à la commune (hors ligne)")
    rest = _place_answers(out, q, answers, inp.gaz, todo, min_score=settings.geocoder_min_score, failures=failures)
    placed = _from_gazetteer(out, inp, rest, reference)
    _explain_failures(out, inp, rest, placed, q.keys, failures)
    out["geocodage_statut"] = out["geocodage_statut"].astype(object)
    return out

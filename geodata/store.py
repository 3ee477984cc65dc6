"""The edited directory: an embedded SQLite file with validation, versions, and a reversible history of every change."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from geodata.actors import FIELD_NAMES, FIELDS_BY_NAME, SURVEY_STATUSES, clean_value, record_problems, shorten
from geodata.errors import ConflictError, GeodataError
from geodata.settings import Settings, get_settings

STORE_FILE = "annuaire.sqlite"
#: Actions recorded in the history (French, shown as is).
ADD, EDIT, DELETE, RESTORE, IMPORT = "ajout", "modification", "suppression", "restauration", "import"
NOT_FILLED = "non renseigné"
# SQL built once from the fixed schema (column names are ours; every value is a bound parameter).
_NAMES = (*FIELD_NAMES, "version")
_QUOTED = ", ".join(f'"{n}"' for n in _NAMES)
_SQL_SELECT = f"SELECT {_QUOTED} FROM actors ORDER BY rowid"  # noqa: S608
_SQL_INSERT = f"INSERT INTO actors ({_QUOTED}) VALUES ({', '.join('?' * len(_NAMES))})"  # noqa: S608
_SQL_UPDATE = "UPDATE actors SET " + ", ".join(f'"{n}" = ?' for n in _NAMES if n != "id") + " WHERE id = ?"  # noqa: S608


class ActorValidationError(GeodataError):
    """An actor record breaks the schema (messages name the actor, the field and the fix)."""


class RevertConflict(ConflictError):
    """An undo refused because a later change touched the same fields; ``fields`` shows them side by side."""

    def __init__(self, change_id: int, actor_id: str, fields: list[dict]):
        self.change_id, self.actor_id, self.fields = change_id, actor_id, fields
        names = ", ".join(f"« {f['champ']} »" for f in fields)
        super().__init__(
            f"Impossible d'annuler le changement n° {change_id} : l'acteur {actor_id!r} a été modifié depuis sur {names} "
            "(par des changements plus récents). Annulez d'abord les changements plus récents de ces champs, ou corrigez la fiche à la main."
        )


def validate_actor(record: Mapping) -> dict[str, str]:
    """Check an actor against the schema of :mod:`geodata.actors`; return it normalised (every field a string).

    The rules are the schema's (:meth:`geodata.actors.Field.problem`), the very ones the importer
    applies, so that every row an import accepts can be stored.

    Raises
    ------
    ActorValidationError
        Naming the actor, the field, the bad value and how to fix it.
    """
    unknown = sorted(set(record) - set(FIELD_NAMES) - {"version"})
    if unknown:
        raise ActorValidationError(f"Champ(s) inconnu(s) {unknown!r} : les champs possibles sont ceux de l'annuaire ({', '.join(FIELD_NAMES)}).")
    out = {name: clean_value(record.get(name)) for name in FIELD_NAMES}
    if out["cercle"].endswith(".0"):
        out["cercle"] = out["cercle"][:-2]
    who = f"Acteur {shorten(out['id'] or out['nom'], 80)!r}"
    problems = record_problems(out)
    if problems:
        f, problem = problems[0]
        raise ActorValidationError(f"{who}, champ {f.label!r} : {problem.reason} ; {problem.fix}.")
    if out["latitude"]:
        # One spelling of a number in the store: point, no trailing zeros.
        out["latitude"] = repr(round(float(out["latitude"].replace(",", ".")), 7))
        out["longitude"] = repr(round(float(out["longitude"].replace(",", ".")), 7))
    return out


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def default_store(settings: Settings | None = None) -> Store:
    """The store of the app: ``annuaire.sqlite`` in the data folder (``CSTI_DATA_DIR``)."""
    settings = settings or get_settings()
    return Store(Path(settings.data_dir) / STORE_FILE)


class Store:
    """Actors in a SQLite file: each has a version; every change is logged with who, when, before and after.

    Parameters
    ----------
    path : Path or str
        The database file, created (with its folder) if needed. ``":memory:"`` is not supported:
        each operation opens its own connection so that several app threads can share the file.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        columns = ", ".join(f'"{n}" TEXT NOT NULL DEFAULT \'\'' for n in FIELD_NAMES if n != "id")
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f'CREATE TABLE IF NOT EXISTS actors ("id" TEXT PRIMARY KEY, {columns}, version INTEGER NOT NULL)')
            have = {row[1] for row in db.execute("PRAGMA table_info(actors)")}
            for name in FIELD_NAMES:  # fields added to the schema later
                if name not in have:
                    db.execute(f'ALTER TABLE actors ADD COLUMN "{name}" TEXT NOT NULL DEFAULT \'\'')
            db.execute(
                "CREATE TABLE IF NOT EXISTS history (change_id INTEGER PRIMARY KEY AUTOINCREMENT, actor_id TEXT NOT NULL,"
                " action TEXT NOT NULL, user TEXT NOT NULL, at TEXT NOT NULL, before TEXT, after TEXT,"
                " version_before INTEGER, version_after INTEGER, reverts INTEGER)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS history_actor ON history(actor_id)")
            if "batch_id" not in {row[1] for row in db.execute("PRAGMA table_info(history)")}:  # stores made before batches
                db.execute("ALTER TABLE history ADD COLUMN batch_id INTEGER")
            db.execute(
                "CREATE TABLE IF NOT EXISTS batches (batch_id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, at TEXT NOT NULL,"
                " source TEXT NOT NULL DEFAULT '', fingerprint TEXT NOT NULL DEFAULT '', counts TEXT NOT NULL DEFAULT '{}',"
                " undone_by TEXT, undone_at TEXT)"
            )

    @contextlib.contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self):
        """One write transaction; IMMEDIATE takes the write lock at once, so version checks cannot race."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- reading -------------------------------------------------------------------------------

    def list_actors(self) -> pd.DataFrame:
        """Every actor: the fields of :data:`geodata.actors.FIELD_NAMES` (strings) plus ``version`` (int)."""
        with self._connect() as db:
            rows = db.execute(_SQL_SELECT).fetchall()
        df = pd.DataFrame([tuple(r) for r in rows], columns=[*FIELD_NAMES, "version"])
        df[list(FIELD_NAMES)] = df[list(FIELD_NAMES)].astype("str")
        return df.astype({"version": "int64"})

    def is_empty(self) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM actors LIMIT 1").fetchone() is None

    def __len__(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM actors").fetchone()[0]

    def get(self, actor_id: str) -> dict | None:
        """The actor ``actor_id`` with its ``version``, or None."""
        with self._connect() as db:
            return self._get(db, actor_id)

    @staticmethod
    def _get(db, actor_id: str) -> dict | None:
        row = db.execute("SELECT * FROM actors WHERE id = ?", (actor_id,)).fetchone()
        return None if row is None else {k: row[k] for k in (*FIELD_NAMES, "version")}

    def history(self, actor_id: str | None = None) -> pd.DataFrame:
        """Changes, newest first: change_id, actor_id, nom, action, user, at, fields (changed), before, after (dicts), reverts."""
        with self._connect() as db:
            if actor_id is None:
                rows = db.execute("SELECT * FROM history ORDER BY change_id DESC").fetchall()
            else:
                rows = db.execute("SELECT * FROM history WHERE actor_id = ? ORDER BY change_id DESC", (actor_id,)).fetchall()
        records = []
        for r in rows:
            before = json.loads(r["before"]) if r["before"] else None
            after = json.loads(r["after"]) if r["after"] else None
            changed = [n for n in FIELD_NAMES if (before or {}).get(n, "") != (after or {}).get(n, "")]
            records.append(
                {
                    "change_id": r["change_id"], "actor_id": r["actor_id"], "nom": (after or before or {}).get("nom", ""),
                    "action": r["action"], "user": r["user"], "at": r["at"], "fields": changed,
                    "before": before, "after": after, "version_before": r["version_before"],
                    "version_after": r["version_after"], "reverts": r["reverts"], "batch_id": r["batch_id"],
                }
            )
        columns = ["change_id", "actor_id", "nom", "action", "user", "at", "fields", "before", "after", "version_before", "version_after", "reverts",
                   "batch_id"]
        return pd.DataFrame(records, columns=columns).astype({"version_before": "Int64", "version_after": "Int64", "reverts": "Int64", "batch_id": "Int64"})

    # -- writing -------------------------------------------------------------------------------

    @staticmethod
    def _log(db, actor_id, action, user, before, after, reverts=None, batch_id=None) -> int:
        strip = lambda rec: None if rec is None else {k: v for k, v in rec.items() if k != "version"}  # noqa: E731
        cur = db.execute(
            "INSERT INTO history (actor_id, action, user, at, before, after, version_before, version_after, reverts, batch_id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                actor_id, action, user, _now(),
                None if before is None else json.dumps(strip(before), ensure_ascii=False),
                None if after is None else json.dumps(strip(after), ensure_ascii=False),
                None if before is None else before.get("version"), None if after is None else after.get("version"), reverts, batch_id,
            ),
        )
        return cur.lastrowid

    @staticmethod
    def _next_version(db, actor_id: str) -> int:
        """Versions keep growing through delete and restore, so a stale copy never matches again."""
        row = db.execute("SELECT MAX(v) FROM (SELECT MAX(COALESCE(version_before, 0), COALESCE(version_after, 0)) AS v FROM history WHERE actor_id = ?"
                         " UNION ALL SELECT version FROM actors WHERE id = ?)", (actor_id, actor_id)).fetchone()
        return int(row[0] or 0) + 1

    @staticmethod
    def _write(db, record: dict, version: int, *, insert: bool) -> dict:
        record = {**record, "version": version}
        if insert:
            db.execute(_SQL_INSERT, [record[n] for n in _NAMES])
        else:
            db.execute(_SQL_UPDATE, [record[n] for n in _NAMES if n != "id"] + [record["id"]])
        return record

    @staticmethod
    def _user(user: str) -> str:
        if not user or not str(user).strip():
            raise GeodataError("Changement refusé : l'auteur (utilisateur connecté) est obligatoire pour l'historique.")
        return str(user).strip()

    def add(self, record: Mapping, *, user: str) -> dict:
        """Add an actor (an ``id`` is generated when empty); return it with its version (1, or more after a re-use)."""
        record = dict(record)
        record.pop("version", None)
        if not clean_value(record.get("id")):
            record["id"] = f"csti-{uuid.uuid4().hex[:10]}"
        clean = validate_actor(record)
        user = self._user(user)
        with self._transaction() as db:
            if self._get(db, clean["id"]) is not None:
                raise ActorValidationError(f"Identifiant {clean['id']!r} déjà utilisé : laissez-le vide pour en générer un, ou choisissez-en un autre.")
            new = self._write(db, clean, self._next_version(db, clean["id"]), insert=True)
            self._log(db, clean["id"], ADD, user, None, new)
        return new

    def update(self, actor_id: str, changes: Mapping, *, expected_version: int, user: str) -> dict:
        """Apply ``changes`` (field -> value) to the actor if it is still at ``expected_version``.

        Raises
        ------
        ConflictError
            When someone changed or deleted the actor since it was read (stale version).
        ActorValidationError
            When the result breaks the schema; nothing is written.
        """
        user = self._user(user)
        changes = {k: v for k, v in changes.items() if k != "version"}
        if "id" in changes and clean_value(changes["id"]) != actor_id:
            raise ActorValidationError(f"Acteur {actor_id!r} : l'identifiant ne se modifie pas ; supprimez la fiche et créez-en une autre.")
        with self._transaction() as db:
            current = self._get(db, actor_id)
            if current is None:
                raise ConflictError(f"Acteur {actor_id!r} introuvable : il a été supprimé entre-temps. Rechargez la page (l'historique permet de le restaurer).")
            self._check_version(current, expected_version)
            merged = validate_actor({**{k: v for k, v in current.items() if k != "version"}, **changes})
            if all(merged[n] == current[n] for n in FIELD_NAMES):
                return current
            new = self._write(db, merged, current["version"] + 1, insert=False)
            self._log(db, actor_id, EDIT, user, current, new)
        return new

    @staticmethod
    def _check_version(current: dict, expected_version) -> None:
        if int(expected_version) != int(current["version"]):
            raise ConflictError(
                f"Conflit sur l'acteur {current['nom']!r} ({current['id']!r}) : il a été modifié par quelqu'un d'autre "
                f"(version {current['version']}, vous éditiez la version {expected_version}). Vos changements ne sont pas enregistrés : "
                "rechargez la fiche, puis refaites-les."
            )

    def move(self, actor_id: str, *, expected_version: int, user: str, lon=None, lat=None, code_insee=None, commune=None, code_postal=None) -> dict:
        """Move an actor to coordinates (``lon``/``lat``) or to a commune (its coordinates are then cleared)."""
        if lon is not None or lat is not None:
            changes = {"longitude": lon, "latitude": lat}
        elif code_insee or commune:
            changes = {"code_insee": code_insee or "", "commune": commune or "", "latitude": "", "longitude": ""}
            if code_postal is not None:
                changes["code_postal"] = code_postal
        else:
            raise ActorValidationError(f"Acteur {actor_id!r} : indiquez des coordonnées (longitude, latitude) ou une commune pour le déplacer.")
        return self.update(actor_id, changes, expected_version=expected_version, user=user)

    def delete(self, actor_id: str, *, expected_version: int, user: str) -> None:
        """Delete the actor if still at ``expected_version`` (the history keeps it for :meth:`revert`)."""
        user = self._user(user)
        with self._transaction() as db:
            current = self._get(db, actor_id)
            if current is None:
                raise ConflictError(f"Acteur {actor_id!r} introuvable : il a déjà été supprimé. Rechargez la page.")
            self._check_version(current, expected_version)
            db.execute("DELETE FROM actors WHERE id = ?", (actor_id,))
            self._log(db, actor_id, DELETE, user, current, None)

    def revert(self, change_id: int, *, user: str) -> dict | None:
        """Undo one change, the latest or an older one: restore a deleted actor, put back the fields it changed, or remove an added actor.

        Only the fields that change touched are put back, so an older change can be undone while later
        changes of other fields stay. Refused with :class:`RevertConflict` (which lists, field by field,
        the value the change left, the value now and the later change) when a later change touched the
        same fields. Returns the actor as it is now (None if removed).
        """
        user = self._user(user)
        with self._transaction() as db:
            return self._revert(db, int(change_id), user)

    def _revert(self, db, change_id: int, user: str, batch_id: int | None = None) -> dict | None:
        row = db.execute("SELECT * FROM history WHERE change_id = ?", (change_id,)).fetchone()
        if row is None:
            raise GeodataError(f"Changement n° {change_id!r} introuvable dans l'historique.")
        actor_id = row["actor_id"]
        current = self._get(db, actor_id)
        before = json.loads(row["before"]) if row["before"] else None
        after = json.loads(row["after"]) if row["after"] else None
        if after is None:  # a deletion: the actor must still be absent
            if current is not None:
                raise ConflictError(f"Acteur {actor_id!r} déjà présent (version {current['version']}) : la suppression n° {change_id} a déjà été annulée.")
            restored = self._write(db, validate_actor(before), self._next_version(db, actor_id), insert=True)
            self._log(db, actor_id, RESTORE, user, None, restored, reverts=change_id, batch_id=batch_id)
            return restored
        if current is None:
            raise ConflictError(
                f"Impossible d'annuler le changement n° {change_id} : l'acteur {actor_id!r} a été supprimé depuis. "
                "Annulez d'abord les changements plus récents (restaurez-le)."
            )
        # An addition is undone only if nothing changed since; an edit only if its own fields are as it left them.
        touched = list(FIELD_NAMES) if before is None else [n for n in FIELD_NAMES if before.get(n, "") != after.get(n, "")]
        clashes = [n for n in touched if current[n] != after.get(n, "")]
        if clashes:
            raise RevertConflict(change_id, actor_id, self._clashes(db, change_id, actor_id, clashes, after, current))
        if before is None:  # undo an addition
            db.execute("DELETE FROM actors WHERE id = ?", (actor_id,))
            self._log(db, actor_id, DELETE, user, current, None, reverts=change_id, batch_id=batch_id)
            return None
        merged = validate_actor({**{k: v for k, v in current.items() if k != "version"}, **{n: before.get(n, "") for n in touched}})
        restored = self._write(db, merged, self._next_version(db, actor_id), insert=False)
        self._log(db, actor_id, EDIT, user, current, restored, reverts=change_id, batch_id=batch_id)
        return restored

    @staticmethod
    def _clashes(db, change_id: int, actor_id: str, fields: list[str], after: dict, current: dict) -> list[dict]:
        """For each clashing field: the value ``change_id`` left, the value now, and the latest later change that touched it."""
        later = db.execute("SELECT change_id, user, before, after FROM history WHERE actor_id = ? AND change_id > ? ORDER BY change_id DESC",
                           (actor_id, change_id)).fetchall()
        out = []
        for name in fields:
            by = next((r for r in later if (json.loads(r["before"]) if r["before"] else {}).get(name, "") != (json.loads(r["after"]) if r["after"] else {}).get(name, "")), None)
            out.append({"champ": FIELDS_BY_NAME[name].label, "valeur laissée par ce changement": after.get(name, ""), "valeur actuelle": current[name],
                        "changé depuis par": "" if by is None else f"n° {by['change_id']} ({by['user']})"})
        return out

    # -- batches: one import, one entry, undone as a whole ---------------------------------------

    def apply_batch(self, added: list[Mapping], updated: list[tuple[str, Mapping, int]], *, user: str, source: str = "",
                    counts: Mapping | None = None) -> int:
        """Write an import as one batch: add ``added``, apply each ``(id, changes, expected_version)`` of ``updated``.

        All or nothing (one transaction): a row that breaks the schema, an id taken since the plan or an
        actor changed since (stale version) writes nothing. Returns the batch number, which
        :meth:`revert_batch` undoes.
        """
        user = self._user(user)
        records = [validate_actor(r) for r in added]
        with self._transaction() as db:
            batch = db.execute("INSERT INTO batches (user, at, source, counts) VALUES (?,?,?,?)",
                               (user, _now(), str(source), json.dumps(dict(counts or {}), ensure_ascii=False))).lastrowid
            for rec in records:
                if self._get(db, rec["id"]) is not None:
                    raise ConflictError(f"Identifiant {rec['id']!r} ajouté entre-temps dans l'annuaire : rien n'est enregistré. Préparez à nouveau l'enregistrement.")
                self._log(db, rec["id"], IMPORT, user, None, self._write(db, rec, self._next_version(db, rec["id"]), insert=True), batch_id=batch)
            for actor_id, changes, version in updated:
                current = self._get(db, actor_id)
                if current is None:
                    raise ConflictError(f"Acteur {actor_id!r} supprimé entre-temps : rien n'est enregistré. Préparez à nouveau l'enregistrement.")
                self._check_version(current, version)
                merged = validate_actor({**{k: v for k, v in current.items() if k != "version"}, **changes})
                self._log(db, actor_id, IMPORT, user, current, self._write(db, merged, current["version"] + 1, insert=False), batch_id=batch)
        return batch

    def batches(self) -> pd.DataFrame:
        """Imports written as batches, newest first: batch_id, user, at, source, counts (dict), changes, undone_by, undone_at."""
        with self._connect() as db:
            rows = db.execute("SELECT b.*, (SELECT COUNT(*) FROM history h WHERE h.batch_id = b.batch_id AND h.reverts IS NULL) AS changes"
                              " FROM batches b ORDER BY batch_id DESC").fetchall()
        columns = ["batch_id", "user", "at", "source", "counts", "changes", "undone_by", "undone_at"]
        return pd.DataFrame([{**{c: r[c] for c in columns if c != "counts"}, "counts": json.loads(r["counts"] or "{}")} for r in rows], columns=columns)

    def revert_batch(self, batch_id: int, *, user: str) -> int:
        """Undo every change of a batch, newest first, in one transaction; returns how many changes were undone.

        Refused (nothing undone) when the batch was already undone or when an actor it wrote was
        changed since on the same fields: the message names the actor and the fields.
        """
        user = self._user(user)
        with self._transaction() as db:
            row = db.execute("SELECT * FROM batches WHERE batch_id = ?", (int(batch_id),)).fetchone()
            if row is None:
                raise GeodataError(f"Import n° {batch_id!r} introuvable dans l'historique.")
            if row["undone_at"]:
                raise ConflictError(f"L'import n° {batch_id} a déjà été annulé (par {row['undone_by']}, le {row['undone_at']}).")
            changes = [r[0] for r in db.execute("SELECT change_id FROM history WHERE batch_id = ? AND reverts IS NULL ORDER BY change_id DESC",
                                                (int(batch_id),))]
            for change_id in changes:
                try:
                    self._revert(db, change_id, user, batch_id=int(batch_id))
                except ConflictError as exc:
                    refused = ConflictError(f"Impossible d'annuler l'import n° {batch_id} (rien n'a été annulé) : {exc}")
                    refused.fields = getattr(exc, "fields", [])  # the clash side by side, when a later edit is the cause
                    raise refused from None
            db.execute("UPDATE batches SET undone_by = ?, undone_at = ? WHERE batch_id = ?", (user, _now(), int(batch_id)))
        return len(changes)

    def replace_all(self, actors: pd.DataFrame, *, user: str) -> dict[str, int]:
        """Make the store hold exactly ``actors`` (seed from the sample or an import); log each difference.

        Every row is validated first: on the first bad row nothing is written. Returns counts
        ``{"ajoutés", "modifiés", "supprimés", "inchangés"}``.
        """
        user = self._user(user)
        records = []
        for pos, (_, row) in enumerate(actors.iterrows()):
            rec = {n: row[n] for n in FIELD_NAMES if n in row.index}
            try:
                records.append(validate_actor(rec))
            except ActorValidationError as exc:
                raise ActorValidationError(f"Ligne {pos + 1} : {exc}") from None
        ids = [r["id"] for r in records]
        dupes = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
        if dupes:
            raise ActorValidationError(f"Identifiants en double {dupes[:5]!r} : chaque acteur doit avoir un identifiant unique.")
        counts = {"ajoutés": 0, "modifiés": 0, "supprimés": 0, "inchangés": 0}
        with self._transaction() as db:
            existing = {r["id"]: self._get(db, r["id"]) for r in db.execute("SELECT id FROM actors").fetchall()}
            for rec in records:
                cur = existing.pop(rec["id"], None)
                if cur is None:
                    self._log(db, rec["id"], IMPORT, user, None, self._write(db, rec, self._next_version(db, rec["id"]), insert=True))
                    counts["ajoutés"] += 1
                elif any(cur[n] != rec[n] for n in FIELD_NAMES):
                    self._log(db, rec["id"], IMPORT, user, cur, self._write(db, rec, cur["version"] + 1, insert=False))
                    counts["modifiés"] += 1
                else:
                    counts["inchangés"] += 1
            for actor_id, cur in existing.items():
                db.execute("DELETE FROM actors WHERE id = ?", (actor_id,))
                self._log(db, actor_id, IMPORT, user, cur, None)
                counts["supprimés"] += 1
        return counts

    def survey_followup(self, departements: pd.Series | None = None) -> pd.DataFrame:
        """Counts of actors by survey status per department (see :func:`survey_followup`)."""
        return survey_followup(self.list_actors(), departements=departements)


def departement_of(actors: pd.DataFrame) -> pd.Series:
    """Department code of each actor: ``code_departement`` if present, else from the INSEE code, else the postcode."""
    if "code_departement" in actors.columns:
        given = actors["code_departement"].astype("object").where(actors["code_departement"].notna(), "")
    else:
        given = pd.Series("", index=actors.index, dtype="object")
    insee = actors.get("code_insee", pd.Series("", index=actors.index)).astype("str").str.strip().str[:2]
    postal = actors.get("code_postal", pd.Series("", index=actors.index)).astype("str").str.strip().str[:2]
    out = [g or i or p or NOT_FILLED for g, i, p in zip(given.astype("str"), insee, postal)]
    return pd.Series(out, index=actors.index, dtype="object")


def survey_followup(actors: pd.DataFrame, *, departements: pd.Series | None = None) -> pd.DataFrame:
    """Table department × survey status (non contacté, envoyé, répondu, validé, non renseigné) with totals.

    Parameters
    ----------
    actors : DataFrame
        Needs ``statut_enquete``; the department comes from ``departements`` or :func:`departement_of`.
    """
    deps = departements if departements is not None else departement_of(actors)
    status = actors["statut_enquete"].astype("object").where(actors["statut_enquete"].isin(SURVEY_STATUSES), NOT_FILLED)
    table = pd.crosstab(pd.Series(deps.to_numpy(), name="departement"), pd.Series(status.to_numpy(), name="statut"))
    columns = [*SURVEY_STATUSES, NOT_FILLED]
    table = table.reindex(columns=columns, fill_value=0)
    if not table[NOT_FILLED].any():
        table = table.drop(columns=NOT_FILLED)
    table["total"] = table.sum(axis=1)
    table.loc["Total"] = table.sum(axis=0)
    table.columns.name = None
    return table.astype("int64")

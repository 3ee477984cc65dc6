"""Publish an import into the directory: plan what it changes (new, updated, unchanged, set aside), then write it as one batch."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from geodata import corrections
from geodata.actors import FIELD_NAMES, FIELDS_BY_NAME
from geodata.importing import ROW, ImportResult, commune_keys, name_commune_keys
from geodata.settings import Settings
from geodata.store import ActorValidationError, Store, validate_actor
from geodata.writers import csv_bytes

#: Where each input row ends, in this order: every row of the file is in exactly one group.
NEW, UPDATED, UNCHANGED, REJECTED, OUTSIDE_REGION = "nouveau", "mis à jour", "inchangé", "rejeté", "hors Occitanie"
GROUPS = (NEW, UPDATED, UNCHANGED, REJECTED, OUTSIDE_REGION)
#: How a count of each group reads in French.
PLURALS = {NEW: "nouveaux", UPDATED: "mis à jour", UNCHANGED: "inchangés", REJECTED: "rejetés", OUTSIDE_REGION: "écartés (hors Occitanie)"}
#: Columns of :attr:`ImportPlan.rows` (the batch report).
REPORT_COLUMNS = (ROW, "groupe", "id", "nom", "commune", "champs", "detail", "motif")


@dataclass
class ImportPlan:
    """What publishing an import would do, before it is done.

    ``rows`` has one row per input row (:data:`REPORT_COLUMNS`); ``added`` the records to add;
    ``updated`` the ``(id, changes, expected_version)`` to apply; ``diffs`` one row per changed field;
    ``matches`` the rows matched by name and commune, ``{import id: directory id}``.
    """

    rows: pd.DataFrame
    added: list[dict] = field(default_factory=list)
    updated: list[tuple[str, dict, int]] = field(default_factory=list)
    diffs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["id", "nom", "champ", "avant", "après"]))
    source: str = ""
    batch_id: int | None = None
    matches: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per group (every group present), in :data:`GROUPS` order."""
        found = self.rows["groupe"].value_counts()
        return {g: int(found.get(g, 0)) for g in GROUPS}

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.updated)

    def summary(self) -> str:
        """One French line: the groups and their total (the rows of the file)."""
        counts = self.counts
        parts = ", ".join(f"{n} {PLURALS[g]}" for g, n in counts.items())
        return f"{sum(counts.values())} lignes : {parts}."


def _label(name: str) -> str:
    return FIELDS_BY_NAME[name].label


def _imported_fields(result: ImportResult) -> list[str]:
    """Fields the import speaks for: those it mapped and those it filled; the others keep the directory's values."""
    mapped = set(result.mapping.values())
    filled = {n for n in FIELD_NAMES if n in result.actors and (result.actors[n].astype(str) != "").any()}
    return [n for n in FIELD_NAMES if n != "id" and (n in mapped or n in filled)]


def plan_import(store: Store, result: ImportResult) -> ImportPlan:
    """Compare an import with the directory: each accepted row is new, an update (field by field) or unchanged.

    A row matches a directory actor by ``id``, else by normalised name and commune (each actor at
    most once). An update changes only the fields the import speaks for (:func:`_imported_fields`):
    a field the file does not have keeps the directory's value. Rejected rows and rows outside the
    region are set aside. The groups' counts add up to the rows of the file; importing the same file
    again plans nothing.
    """
    current = store.list_actors()
    position = {actor_id: i for i, actor_id in enumerate(current["id"].tolist())}
    actors = result.actors
    fields = _imported_fields(result)
    matched: dict[int, str] = {}
    taken: set[str] = set()
    for pos, actor_id in enumerate(actors["id"]):  # ids first, so that a name match never takes an actor its id claims
        if actor_id in position:
            matched[pos] = actor_id
            taken.add(actor_id)
    rest = [pos for pos in range(len(actors)) if pos not in matched]
    if rest and len(current):
        # Names are normalised only for the directory's actors in a commune of the rows left: the others cannot match.
        wanted = set(commune_keys(actors["commune"].iloc[rest]))
        near = current[commune_keys(current["commune"]).isin(wanted).to_numpy()]
        by_key: dict[str, str] = {}
        for k, actor_id in zip(name_commune_keys(near["nom"], near["commune"]).tolist(), near["id"].tolist()):
            by_key.setdefault(k, actor_id)
        for pos, k in zip(rest, name_commune_keys(actors["nom"].iloc[rest], actors["commune"].iloc[rest])):
            if (found := by_key.get(k)) is not None and found not in taken:
                matched[pos] = found
                taken.add(found)
    # Records only of the actors matched (a directory of 50,000 is not turned into dicts for 1,406 rows).
    hit = sorted(position[a] for a in set(matched.values()))
    by_id = {r["id"]: r for r in current.iloc[hit].to_dict("records")}
    rows, added, updated, diffs, matches = [], [], [], [], {}
    for pos, rec in enumerate(actors.to_dict("records")):
        base = {ROW: int(rec[ROW]), "nom": rec["nom"], "commune": rec["commune"], "champs": "", "detail": "", "motif": ""}
        try:
            if pos not in matched:
                new = validate_actor({n: rec.get(n, "") for n in FIELD_NAMES})
                added.append(new)
                rows.append({**base, "groupe": NEW, "id": new["id"]})
                continue
            actor_id = matched[pos]
            now = by_id[actor_id]
            proposed = validate_actor({**{n: now[n] for n in FIELD_NAMES}, **{n: rec.get(n, "") for n in fields}})
        except ActorValidationError as exc:  # the importer's rules are the store's: kept as a safety net, never silent
            rows.append({**base, "groupe": REJECTED, "id": rec.get("id", ""), "motif": str(exc)})
            continue
        changed = [n for n in FIELD_NAMES if proposed[n] != now[n]]
        how = "" if actor_id == rec["id"] else f"apparié par nom et commune à l'acteur {actor_id!r}"
        if how:
            matches[str(rec["id"])] = actor_id
        if not changed:
            rows.append({**base, "groupe": UNCHANGED, "id": actor_id, "motif": how})
            continue
        updated.append((actor_id, {n: proposed[n] for n in changed}, int(now["version"])))
        diffs.extend({"id": actor_id, "nom": proposed["nom"], "champ": _label(n), "avant": now[n], "après": proposed[n]} for n in changed)
        rows.append({**base, "groupe": UPDATED, "id": actor_id, "motif": how, "champs": ", ".join(_label(n) for n in changed),
                     "detail": " ; ".join(f"{_label(n)} : « {now[n]} » → « {proposed[n]} »" for n in changed)})
    rows.extend(_set_aside(result))
    table = pd.DataFrame(rows, columns=list(REPORT_COLUMNS)).sort_values(ROW, kind="stable").reset_index(drop=True)
    return ImportPlan(table, added, updated, pd.DataFrame(diffs, columns=["id", "nom", "champ", "avant", "après"]), source=result.source_name,
                      matches=matches)


def _set_aside(result: ImportResult) -> list[dict]:
    """The rejected rows and those outside the region, with their reasons (names read through the mapping)."""
    column_of = {target: col for col, target in result.mapping.items() if target}
    rejected, outside = result.rejected, result.outside
    cell = lambda i, name: str(rejected.at[i, column_of[name]]) if column_of.get(name) in rejected.columns else ""  # noqa: E731
    return [{ROW: int(rejected.at[i, ROW]), "groupe": OUTSIDE_REGION if outside[i] else REJECTED, "id": "", "nom": cell(i, "nom"),
             "commune": cell(i, "commune"), "champs": "", "detail": "", "motif": str(rejected.at[i, "motif"] or "")} for i in rejected.index]


def apply_plan(store: Store, plan: ImportPlan, *, user: str, settings: Settings | None = None) -> int | None:
    """Write the plan as one batch of the history (who, when, the file, the counts); None when it changes nothing.

    The manual corrections of rows matched by name and commune follow them to the directory's actor
    (:func:`geodata.corrections.follow_matches`). Raises :class:`geodata.errors.ConflictError`
    (nothing written) when the directory changed since the plan.
    """
    if plan.changes_anything:
        plan.batch_id = store.apply_batch(plan.added, plan.updated, user=user, source=plan.source, counts=plan.counts)
    corrections.follow_matches(plan.matches, settings=settings)
    return plan.batch_id


def batch_report(plan: ImportPlan, *, sep: str = ";") -> bytes:
    """The plan's row-by-row report as CSV (the project's one CSV writer)."""
    return csv_bytes(plan.rows, sep=sep)

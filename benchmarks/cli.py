"""``python -m benchmarks``: benchmark table on real data (also reached as ``python -m geodata bench`` from a checkout)."""

from __future__ import annotations

import importlib

from benchmarks import AREAS, Row, print_table

HELP = "Mesure temps, tailles et mémoire sur données réelles et affiche un tableau."


def add_arguments(parser) -> None:
    parser.add_argument("--only", nargs="*", choices=AREAS, help="domaines à mesurer (tous par défaut)")
    parser.add_argument("--quick", action="store_true", help="tailles réduites (vérification rapide)")


def run(args) -> int:
    ctx: dict = {"quick": args.quick}
    rows = []
    for area in args.only or AREAS:
        try:
            module = importlib.import_module(f"benchmarks.{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"benchmarks.{area}":
                raise
            continue
        rows.extend(module.rows(ctx))
        print(f"… {area} mesuré", flush=True)
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    rows.append(Row("processus", "pic de mémoire résidente (tout le banc)", f"{peak:.0f} MiB"))
    print_table(rows)
    return 0


def main(argv: list[str] | None = None) -> int:
    from geodata.french_argparse import ArgumentParser

    parser = ArgumentParser(prog="python -m benchmarks", description=HELP)
    add_arguments(parser)
    return run(parser.parse_args(argv))

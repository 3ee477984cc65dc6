"""``python -m geodata bench``: a thin entry to the benchmarks, which live in the repository, not in the installed package."""

from __future__ import annotations

import importlib
import sys

HELP = "Mesure temps, tailles et mémoire sur données réelles (bancs d'essai du dépôt, dossier benchmarks/)."
WHERE = (
    "Les bancs d'essai ne font pas partie du paquet installé : ils sont dans le dossier benchmarks/ du dépôt "
    "(ils lisent les données réelles de ../shared/data et le serveur d'essai de tests/). "
    "Depuis une copie du dépôt : python -m benchmarks [--only …] [--quick]."
)


def add_arguments(parser) -> None:
    # Every option is passed on to the benchmarks' own command line (geodata does not know them).
    parser.set_defaults(_passthrough=True)


def _benchmarks_cli():
    try:
        return importlib.import_module("benchmarks.cli")
    except ModuleNotFoundError as exc:
        if exc.name not in ("benchmarks", "benchmarks.cli"):
            raise
        return None


def run(args) -> int:
    cli = _benchmarks_cli()
    if cli is None:
        print(WHERE, file=sys.stderr)
        return 2
    return cli.main(args.rest)

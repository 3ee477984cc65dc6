"""Command line for staff and automation: ``python -m geodata SUBCOMMAND``."""

from __future__ import annotations

import argparse
import importlib
import sys

from geodata.errors import GeodataError

#: Subcommands, each a module of geodata.commands with ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
COMMANDS = ("reference", "geocode", "coverage", "export", "publish", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m geodata", description="Carte de la culture scientifique en Occitanie.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"geodata.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"geodata.commands.{name}":
                raise
            continue
        sp = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sp)
        sp.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except GeodataError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130

"""Command line for staff and automation: ``python -m geodata SUBCOMMAND``."""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points

from geodata.errors import GeodataError
from geodata.french_argparse import ArgumentParser

#: Subcommands of geodata itself, each a module of geodata.commands with ``HELP``, ``add_arguments(parser)`` and
#: ``run(args) -> int``.
COMMANDS = ("reference", "geocode", "import", "coverage", "export", "bench")
#: Subcommands whose module name differs (``import`` is a Python keyword).
_MODULES = {"import": "import_"}
#: Entry-point group through which the packages above geodata (the maps' ``publish``) add their subcommands,
#: so that geodata never imports them (pyproject.toml, ``[project.entry-points."geodata.commands"]``).
ENTRY_POINTS = "geodata.commands"


def _command_modules() -> dict:
    modules = {}
    for name in COMMANDS:
        try:
            modules[name] = importlib.import_module(f"geodata.commands.{_MODULES.get(name, name)}")
        except ModuleNotFoundError as exc:
            if exc.name != f"geodata.commands.{_MODULES.get(name, name)}":
                raise
    for ep in entry_points(group=ENTRY_POINTS):
        try:
            modules.setdefault(ep.name, importlib.import_module(ep.value))
        except ModuleNotFoundError as exc:
            # An installed entry point whose module this checkout does not have (an older checkout beside a newer
            # install): that subcommand is absent, the others work.
            if exc.name != ep.value:
                raise
    return modules


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="python -m geodata", description="Carte de la culture scientifique en Occitanie.")
    sub = parser.add_subparsers(dest="commande", required=True)
    for name, module in _command_modules().items():
        sp = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sp)
        sp.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "_passthrough", False):
        parser.error(f"arguments non reconnus : {' '.join(rest)}")
    args.rest = rest
    try:
        return int(args._run(args) or 0)
    except GeodataError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130

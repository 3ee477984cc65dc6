"""Subcommands of ``python -m geodata`` that belong to the maps, registered through the ``geodata.commands`` entry points."""

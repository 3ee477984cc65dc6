"""argparse in French: the one parser class of every command line (``python -m geodata``, ``python -m benchmarks``).

argparse builds its help and error texts through gettext (``argparse._`` and ``argparse.ngettext``); no French
catalogue ships with Python. :class:`ArgumentParser` looks those texts up in :data:`MESSAGES` while it builds,
parses, prints help or reports an error, and leaves argparse as it was the rest of the time. Its sub-parsers are of
the same class (argparse makes them with the class of their parent).
"""

from __future__ import annotations

import argparse
import contextlib
import functools

NBSP = "\u00a0"
#: argparse's English texts (gettext msgids of Python 3.11 to 3.13) and their French. Section titles end with a
#: no-break space: argparse adds the colon right after them (« Options : », as French typography wants).
MESSAGES = {
    "usage: ": "Utilisation : ",
    "positional arguments": f"Arguments{NBSP}",
    "options": f"Options{NBSP}",
    "optional arguments": f"Options{NBSP}",
    "subcommands": f"Sous-commandes{NBSP}",
    "show this help message and exit": "afficher cette aide et quitter",
    "show program's version number and exit": "afficher la version et quitter",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (choisir parmi %(choices)s)",
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s attendu) : %(value)r",
    "expected one argument": "une valeur attendue",
    "expected at most one argument": "au plus une valeur attendue",
    "expected at least one argument": "au moins une valeur attendue",
    "expected %s argument": "%s valeur attendue",
    "expected %s arguments": "%s valeurs attendues",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut désigner %(matches)s",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "ignored explicit argument %r": "valeur %r ignorée : cette option n'en prend pas",
    "one of the arguments %s is required": "l'un des arguments %s est obligatoire",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "commande inconnue %(parser_name)r (choisir parmi %(choices)s)",
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
    "unexpected option string: %s": "option inattendue : %s",
    'argument "-" with mode %r': "argument « - » en mode %r",
}
#: The type names argparse puts in « invalid %(type)s value ».
TYPE_NAMES = {"int": "nombre entier", "float": "nombre décimal"}


def gettext(message: str) -> str:
    """The French of one of argparse's texts (itself when unknown: a text of the program is already French)."""
    return MESSAGES.get(message, message) if isinstance(message, str) else message


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


@contextlib.contextmanager
def french():
    """argparse speaks French inside this block."""
    saved = argparse._, argparse.ngettext
    argparse._, argparse.ngettext = gettext, ngettext
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


def _in_french(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with french():
            return method(*args, **kwargs)

    return wrapper


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose help, usage and errors are French (see :data:`MESSAGES`)."""

    __init__ = _in_french(argparse.ArgumentParser.__init__)
    add_subparsers = _in_french(argparse.ArgumentParser.add_subparsers)
    add_argument = _in_french(argparse.ArgumentParser.add_argument)
    parse_known_args = _in_french(argparse.ArgumentParser.parse_known_args)
    format_usage = _in_french(argparse.ArgumentParser.format_usage)
    format_help = _in_french(argparse.ArgumentParser.format_help)
    error = _in_french(argparse.ArgumentParser.error)

    def _get_value(self, action, arg_string):
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError as exc:
            name = getattr(action.type, "__name__", "")
            if name in TYPE_NAMES:
                exc.message = exc.message.replace(f"({name} attendu)", f"({TYPE_NAMES[name]} attendu)")
            raise

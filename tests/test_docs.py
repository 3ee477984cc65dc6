"""The README is the front door: two commands, and every setting documented."""

from pathlib import Path

from geodata.settings import describe_settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    missing = [s["variable"] for s in describe_settings() if f"`{s['variable']}`" not in README]
    assert missing == []


def test_two_commands_and_ci_runs_the_test_command():
    assert "python3 tasks.py app" in README and "python3 tasks.py test" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 tasks.py test" in ci

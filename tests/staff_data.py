"""Fixture actors for the staff tests: real sample places plus personal contacts that must never be published."""

from pathlib import Path

import pandas as pd

from geodata.actors import FIELD_NAMES

SAMPLE_FILE = Path(__file__).resolve().parents[1] / "geodata" / "data" / "acteurs_exemple.csv"

#: Values that may appear only in private exports and staff pages after login.
PRIVATE_VALUES = ("Jeanne Secretdupont", "jeanne.secret@exemple-prive.fr", "06 99 88 77 66", "Paul Confidentiel", "paul.confidentiel@exemple-prive.fr")


def private_actors(n: int = 12) -> pd.DataFrame:
    """``n`` sample actors, the first ones carrying contact persons, e-mails and phones."""
    df = pd.read_csv(SAMPLE_FILE, dtype=str, keep_default_na=False).head(n)
    for name in FIELD_NAMES:
        if name not in df.columns:
            df[name] = ""
    df["contact_nom"] = ""
    df["contact_email"] = ""
    df["contact_telephone"] = ""
    df.loc[0, ["contact_nom", "contact_email", "contact_telephone"]] = [PRIVATE_VALUES[0], PRIVATE_VALUES[1], PRIVATE_VALUES[2]]
    df.loc[1, ["contact_nom", "contact_email"]] = [PRIVATE_VALUES[3], PRIVATE_VALUES[4]]
    return df[list(FIELD_NAMES)]

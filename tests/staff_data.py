"""Fixture actors for the staff tests: real sample places plus personal contacts that must never be published."""

import pandas as pd

from geodata.actors import FIELD_NAMES
from geodata.directory import read_sample

#: Values that may appear only in private exports and staff pages after login.
PRIVATE_VALUES = ("Jeanne Secretdupont", "jeanne.secret@exemple-prive.fr", "06 99 88 77 66", "Paul Confidentiel", "paul.confidentiel@exemple-prive.fr")


def private_actors(n: int = 12) -> pd.DataFrame:
    """``n`` sample actors, the first ones carrying contact persons, e-mails and phones."""
    df = read_sample().head(n).copy()
    df["contact_nom"] = ""
    df["contact_email"] = ""
    df["contact_telephone"] = ""
    df.loc[0, ["contact_nom", "contact_email", "contact_telephone"]] = [PRIVATE_VALUES[0], PRIVATE_VALUES[1], PRIVATE_VALUES[2]]
    df.loc[1, ["contact_nom", "contact_email"]] = [PRIVATE_VALUES[3], PRIVATE_VALUES[4]]
    return df[list(FIELD_NAMES)]

"""Reference geography, actor directory, geocoding, coverage and export for the Occitanie CSTI map."""

__version__ = "0.1.0"

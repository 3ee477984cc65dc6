"""Domain errors: every message quotes the offending input and says how to fix it."""


class GeodataError(Exception):
    """Base class of the errors a page or the CLI shows to a user, in French."""


class ReferenceDataError(GeodataError):
    """The reference geography cannot be built or read."""


class DataFileError(GeodataError):
    """A data file supplied by the user cannot be read or lacks a needed field."""


class LayerUnavailableError(GeodataError):
    """An optional layer (QPV, official rural zoning) is not available offline."""


class NetworkError(GeodataError):
    """A remote service could not be reached or answered with an error."""


class ConflictError(GeodataError):
    """A change was made from a stale copy: someone else changed the record in between."""


class SettingsError(GeodataError):
    """A setting read from the environment has a value of the wrong form."""

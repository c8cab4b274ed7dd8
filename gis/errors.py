"""One error hierarchy for Pingan Grid.

Every error a user can cause or meet carries an HTTP status and a message fit to
show them (Chinese first, English after).  The web layer turns these into JSON or
an error page in one place; the CLI prints the message and exits non-zero.
Messages never contain connection strings or passwords.
"""

from __future__ import annotations

import logging
import reprlib

logger = logging.getLogger(__name__)

_BRIEF = reprlib.Repr()
_BRIEF.maxstring = _BRIEF.maxother = 60
_BRIEF.maxlist = _BRIEF.maxdict = 4


def brief(value: object) -> str:
    """``value`` as a message may quote it: its repr, cut short.

    A message quotes what the user sent so they can find it, but never a megabyte
    of it; repr also escapes NUL and lone surrogates, which the JSON of an error
    response could not carry.

    >>> brief("x" * 1000)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxxxxxxx'"
    >>> brief([1, 2, 3, 4, 5, 6])
    '[1, 2, 3, 4, ...]'
    """
    try:
        return _BRIEF.repr(value)
    except ValueError:  # an int too long to print (sys.set_int_max_str_digits)
        return f"<{type(value).__name__}>"


class PinganError(Exception):
    """Base class: an error with an HTTP status and a user-facing message."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict:
        """Return the JSON body the API sends for this error."""
        body = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(PinganError):
    """A request parameter, file row or field is not acceptable."""

    status = 400
    code = "invalid_input"


class NotFound(PinganError):
    """The requested area, point or page does not exist."""

    status = 404
    code = "not_found"


class Unauthorized(PinganError):
    """No valid credentials: log in or send ``Authorization: Bearer <token>``."""

    status = 401
    code = "unauthorized"


class SessionEnded(Unauthorized):
    """The session or token a request came with ended while the request ran
    (found by the check sent with its first statement, :mod:`gis.access`)."""


class Forbidden(PinganError):
    """The user may not see or change this object."""

    status = 403
    code = "forbidden"


class Conflict(PinganError):
    """The request contradicts the object's current state (e.g. a workflow step)."""

    status = 409
    code = "conflict"


class PayloadTooLarge(PinganError):
    """An upload is bigger than the configured limit."""

    status = 413
    code = "payload_too_large"


class DatabaseUnavailable(PinganError):
    """The database cannot be reached (stopped, wrong URL, network)."""

    status = 503
    code = "database_unavailable"


class SchemaNotReady(DatabaseUnavailable):
    """The database answers but lacks PostGIS or this release's schema."""

    code = "schema_not_ready"


class ConfigError(PinganError):
    """Configuration is missing or inconsistent; the message says what to set."""

    status = 500
    code = "config_error"


class EmbeddedDatabaseError(PinganError):
    """The embedded PostgreSQL cluster could not be created, started or stopped."""

    status = 503
    code = "embedded_database_error"


class TooManyRequests(PinganError):
    """Too many failed sign-ins for an account or from an address: locked out
    until ``details.locked_until``."""

    status = 429
    code = "too_many_requests"

"""Exceptions and warnings raised by rampcast.

Exceptions subclass what callers already catch (``ValueError``), so a
script that guards against bad input keeps working. Every message names the
file (when there is one), the key path or column, the bad value and what is
allowed.
"""

from __future__ import annotations


class RampcastError(Exception):
    """Base class of every error rampcast raises on purpose."""


class ScenarioError(RampcastError, ValueError):
    """A scenario file, or a file it points to, is not valid.

    Parameters
    ----------
    message
        What is wrong and what is allowed.
    source
        The file the problem was found in, if any.
    path
        The key path inside the file, as a dotted string (``segments.smb.ramp``).
    """

    def __init__(self, message: str, source: str | None = None, path: str | None = None):
        self.source = source
        self.path = path
        self.detail = message
        where = []
        if source:
            where.append(str(source))
        if path:
            where.append(path)
        prefix = ": ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class RampcastWarning(UserWarning):
    """Base class of rampcast's warnings; each says what to change."""


class ConventionWarning(RampcastWarning):
    """An input relies on a convention the planner may not have meant."""

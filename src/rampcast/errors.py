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


class DataError(RampcastError, ValueError):
    """An input data file (CRM export, roster, HR record) does not match its layout.

    Parameters
    ----------
    message
        What is wrong, an example bad row, and the mapping option that fixes it.
    source
        The file the problem was found in, if any.
    column
        The file column (or canonical column) at fault, if any.
    """

    def __init__(self, message: str, source: str | None = None, column: str | None = None):
        self.source = None if source is None else str(source)
        self.column = column
        self.detail = message
        super().__init__(f"{source}: {message}" if source else message)


class QuotaError(RampcastError, ValueError):
    """Quota options that cannot hold together.

    For example weights that do not sum to one, a negative over-assignment,
    or bounds relative to history that cannot meet the street quota. The
    message names the option, its value and what is allowed.
    """


class RampcastWarning(UserWarning):
    """Base class of rampcast's warnings; each says what to change."""


class ConventionWarning(RampcastWarning):
    """An input relies on a convention the planner may not have meant."""


class DataWarning(RampcastWarning):
    """An input file can be read, but what it can tell is limited (say how to use it)."""


class InfeasibleError(RampcastError, ValueError):
    """No territory assignment meets the hard constraints; ``reasons`` says why.

    Parameters
    ----------
    message
        The verdict and what to change (a wider tolerance, ``--soft``).
    reasons
        One plain-words sentence per cause found.
    """

    def __init__(self, message: str, reasons: list[str] | None = None):
        self.reasons = list(reasons or [])
        self.detail = message
        text = message if not self.reasons else message + "\n  - " + "\n  - ".join(self.reasons)
        super().__init__(text)

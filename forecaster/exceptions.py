"""Exceptions raised by forecaster.

Every error a user can cause by their input is a :class:`ForecasterError`
subclass. The CLI turns these into one line on stderr and a non-zero exit;
anything else is a bug and is shown with its traceback.
"""

from __future__ import annotations


class ForecasterError(Exception):
    """Base class for every error forecaster raises on purpose."""


class DataError(ForecasterError, ValueError):
    """The input data cannot be used (unreadable, malformed, too short...)."""


class ConfigError(ForecasterError, ValueError):
    """A hyperparameter or option is invalid or contradicts another one."""


class NotFittedError(ForecasterError, RuntimeError):
    """A method that needs a fitted model was called before ``fit``."""


class ArtifactError(ForecasterError, OSError):
    """A saved run directory is missing, incomplete, tampered with or unsafe."""


class TrainingError(ForecasterError, RuntimeError):
    """Training diverged or could not run."""

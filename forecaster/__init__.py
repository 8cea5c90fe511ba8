"""forecaster: recurrent-network time-series forecasting with honest baselines.

Importing this package is cheap: Keras/TensorFlow are imported only by the
modules that need them (``models``, ``forecaster``), so ``forecast --help``
stays instant.
"""

from forecaster.exceptions import (
    ArtifactError,
    ConfigError,
    DataError,
    ForecasterError,
    NotFittedError,
    TrainingError,
)

__version__ = "0.1.0"

__all__ = [
    "ArtifactError",
    "ConfigError",
    "DataError",
    "ForecasterError",
    "NotFittedError",
    "TrainingError",
    "__version__",
]

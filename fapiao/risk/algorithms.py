"""The anomaly model's algorithm names and training minimum, apart from the model itself so that the
command line can offer them without importing scikit-learn (~1.3 s)."""

from __future__ import annotations

ALGORITHMS: tuple[str, ...] = ("isolation_forest", "lof", "gaussian_mixture")
DEFAULT_ALGORITHM = "isolation_forest"
MIN_TRAIN_ROWS = 50

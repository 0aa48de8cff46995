"""neurorrn: recurrent speech models, hidden-unit stores, encoding and probing against M/EEG."""

__version__ = "0.1.0"

from .utils._logging import logger, set_log_level  # noqa: F401  (re-exported)

__all__ = ["__version__", "logger", "set_log_level"]

"""Shared helpers: validation (``_check``), logging (``_logging``), atomic file writes, devices."""

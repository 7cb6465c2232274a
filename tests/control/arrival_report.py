"""Arrival-time errors recorded by the tracker tests: name → (mean |error| ms, max |error| ms,
how far ahead the prediction was made, s)."""

ERRORS: dict[str, tuple[float, float, float]] = {}

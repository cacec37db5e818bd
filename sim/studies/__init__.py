"""Reproducible experiments run from the command line (``mm-bot study ...``)."""

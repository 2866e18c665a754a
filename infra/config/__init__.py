"""Typed settings, read from the environment (settings.py)."""

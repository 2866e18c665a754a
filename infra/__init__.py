"""The outer ring: entry points, the composition root, adapters and settings (see README.md)."""

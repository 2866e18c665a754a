"""The composition root (container.py) and the orchestration that wires adapters together."""

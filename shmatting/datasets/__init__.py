"""Datasets and transforms (registered on import)."""

"""Vectorised account and graph-pattern features (the hot path)."""

"""Prefect flows composing ingest, features, detectors and stores."""

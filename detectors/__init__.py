"""Typology rules and scikit-learn anomaly detectors behind one interface."""

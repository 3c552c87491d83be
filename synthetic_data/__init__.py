"""Synthetic transactions with planted, labelled laundering schemes."""

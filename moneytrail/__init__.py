"""moneytrail: batch detection of money-laundering patterns in transaction data."""

__version__ = "0.1.0"

"""Detection quality against ground truth: metrics, sweeps and reports."""

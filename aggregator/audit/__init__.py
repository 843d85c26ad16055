"""The provincial audit: register, reconciliation, risk points, hygiene."""

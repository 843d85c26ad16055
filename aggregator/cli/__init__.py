"""Subcommands of camwatch-aggregator beyond serve."""

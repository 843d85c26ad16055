"""Faults: rules, the fault book, alert policy and the fault service."""

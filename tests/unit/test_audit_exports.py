"""Every name the audit modules export exists (their public surface, issue 8)."""

from __future__ import annotations

import importlib

import pytest

MODULES = ["aggregator.register", "aggregator.register_rows", "aggregator.tablefile",
           "aggregator.reconcile", "aggregator.audit_store", "aggregator.audit_api",
           "aggregator.audit_report", "aggregator.cli_audit", "aggregator.risk",
           "aggregator.risk_store", "aggregator.hygiene", "aggregator.spatial",
           "aggregator.province_check"]


@pytest.mark.parametrize("name", MODULES)
def test_exported_members_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "duplicate names in __all__"
    missing = [member for member in exported if not hasattr(module, member)]
    assert not missing

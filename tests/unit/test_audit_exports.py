"""Every name the audit modules export exists (their public surface, issue 8)."""

from __future__ import annotations

import importlib

import pytest

MODULES = ["aggregator.audit.register", "aggregator.audit.rows", "aggregator.audit.tablefile",
           "aggregator.audit.reconcile", "aggregator.audit.store", "aggregator.api.audit",
           "aggregator.reports.audit_section", "aggregator.cli.audit", "aggregator.audit.risk",
           "aggregator.audit.risk_store", "aggregator.audit.hygiene", "aggregator.audit.spatial",
           "aggregator.audit.province_check"]


@pytest.mark.parametrize("name", MODULES)
def test_exported_members_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "duplicate names in __all__"
    missing = [member for member in exported if not hasattr(module, member)]
    assert not missing

"""The aggregator's whole database schema: every room's migrations in one order, and ``open_db``.

Each room owns its tables and the migration functions that create them (the store its core
and snapshot tables, ingest its quarantine, faults its faults, maintenance windows, routes and
deliveries, audit its register). This module sits above those rooms, beside the composition
root (:mod:`aggregator.service`), and is the one place that lists them, so the store never
imports a room above it to build a database. Open a database with :func:`open_db`.

The order and the names are what existing databases have recorded in ``schema_migrations``:
never reorder or rename an entry; append new ones at the end.
"""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from aggregator.audit.advisories import migrate_advisories
from aggregator.audit.history import migrate_audit_v3
from aggregator.audit.plan_store import migrate_audit_plans
from aggregator.audit.store import migrate_audit, migrate_audit_counts, migrate_audit_v2
from aggregator.auth import migrate_token_expiry
from aggregator.faults.routing import migrate_routes_v2
from aggregator.faults.store import migrate_faults, migrate_faults_v2
from aggregator.ingest.quarantine import migrate_quarantine
from aggregator.notify.images import migrate_image_links
from aggregator.store.changes import migrate_changes
from aggregator.store.clocks import migrate_clocks
from aggregator.store.db import (
    Migration,
    apply_migrations,
    connect,
    migrate_core,
    migrate_core_v2,
    migration_set,
)
from aggregator.store.places import migrate_places
from aggregator.store.queries.search import migrate_search
from aggregator.store.recording import migrate_recording
from aggregator.store.silences import migrate_silences
from aggregator.store.snapshots import migrate_snapshots

__all__ = ["MIGRATIONS", "all_migrations", "open_db"]

MIGRATIONS: tuple[tuple[str, Migration], ...] = (
    ("core_v1", migrate_core),
    ("quarantine_v1", migrate_quarantine),
    ("faults_v1", migrate_faults),
    ("audit_v1", migrate_audit),
    ("audit_v2", migrate_audit_v2),
    ("snapshots_v1", migrate_snapshots),
    ("core_v2", migrate_core_v2),
    ("routes_v2", migrate_routes_v2),
    ("image_links_v1", migrate_image_links),
    ("places_v1", migrate_places),
    ("audit_v3", migrate_audit_v3),
    ("clocks_v1", migrate_clocks),
    ("search_v1", migrate_search),
    ("audit_plans_v1", migrate_audit_plans),
    ("audit_counts_v1", migrate_audit_counts),
    ("recording_v1", migrate_recording),
    ("faults_v2", migrate_faults_v2),
    ("advisories_v1", migrate_advisories),
    ("changes_v1", migrate_changes),
    ("silences_v1", migrate_silences),
    ("token_expiry_v1", migrate_token_expiry),
)


def all_migrations() -> Migrations:
    """The sqlite-utils migration set of :data:`MIGRATIONS` (to apply part of it, in tests)."""
    return migration_set(MIGRATIONS)


def open_db(path: str | Path, *, migrate: bool = True, page_size: int | None = None) -> Database:
    """Open (creating if needed) the database at ``path`` with every room's tables.

    ``migrate=False`` only connects (readers of a database the service keeps migrated).
    ``path`` may be ``":memory:"`` for unit tests.
    """
    db = connect(path, page_size=page_size)
    if migrate:
        apply_migrations(db, MIGRATIONS, label=str(path))
    return db

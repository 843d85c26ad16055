"""IngestSettings: the ingest's section of the settings tree (aggregator.settings.ingest)."""

from __future__ import annotations

from aggregator.settings.ingest import IngestSettings

__all__ = ["IngestSettings"]

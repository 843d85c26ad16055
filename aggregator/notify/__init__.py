"""Fault alerts: grouping, routing, rate limits and the channels (MQTT, webhook, e-mail).

Modules, one concern each: :mod:`.text` (what an alert says, Thai and English),
:mod:`.routing` (who gets what), :mod:`.deliveries` (the durable delivery log),
:mod:`.dispatcher` (grouping, maintenance, rate limits, escalation hand-off),
:mod:`.mqtt`, :mod:`.webhook`, :mod:`.email` (the channels) and :mod:`.service`
(the thread that runs the fault engine and the dispatcher off the ingest path).
"""

from __future__ import annotations

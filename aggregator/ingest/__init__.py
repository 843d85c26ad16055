"""MQTT ingest: validation, quarantine, session rules, one batching writer."""

"""camwatch aggregator: ingest, store, availability, faults, API and feed."""

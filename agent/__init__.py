"""camwatch edge agent: discovery, ONVIF, checks, state machine, outbox, publisher, CLI."""

"""The aggregator's HTTP API: one router per resource under ``/api/v1``.

The routers, their shared dependencies (:mod:`aggregator.api.deps`) and response models
(:mod:`aggregator.api.schemas`) live here; the app that mounts them beside the dashboard's
pages is built by :func:`aggregator.app.create_app`.
"""

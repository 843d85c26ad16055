"""``camwatch-agent run``: check every camera every interval and report until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from protocol import SiteInfo

from .cli_check import EXIT_CONFIG, load_all
from .config import ConfigError
from .models import EventSink, PrintSink
from .outbox import Outbox
from .publisher import Publisher, PublisherSettings
from .runner import Runner
from .snapshot import SnapshotTaker, taker_for_runner

__all__ = ["register"]

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``run`` subcommand."""
    run = sub.add_parser("run", help="check every camera every interval and report to the centre")
    run.add_argument("--print", dest="print_only", action="store_true",
                     help="print state changes instead of publishing them (no broker, no outbox)")
    run.set_defaults(func=cmd_run)


async def _serve(runner: Runner) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runner.run(stop)


def cmd_run(args: argparse.Namespace) -> int:
    """Run until SIGTERM or SIGINT; exit 0 after a clean shutdown."""
    try:
        config, secrets = load_all(args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    publisher: Publisher | None = None
    taker: SnapshotTaker | None = None
    sink: EventSink
    if args.print_only:
        sink = PrintSink()
        runner = Runner(config, secrets, sink)
    else:
        if config.broker.resolve_password() is None:
            logger.warning("%s: no broker password found (%s)", config.site.site_id, config.broker.password)
        outbox = Outbox(config.outbox_path(), max_events=config.outbox.max_events)
        runner = Runner(config, secrets, outbox)
        site = config.site
        publisher = Publisher(PublisherSettings.from_config(config), outbox, runner.current_snapshot,
                              SiteInfo(name=site.name, agency=site.agency, lat=site.lat, lon=site.lon))
        runner.on_identity_change = publisher.request_birth  # the centre keeps change events
        taker = taker_for_runner(runner, publisher.publish_reply)
        publisher.on_command = taker.handle  # snapshot commands; replies go straight out
        if runner.recording is not None:
            publisher.recording_figures = runner.recording.figures
        publisher.start()
    try:
        asyncio.run(_serve(runner))
    finally:
        if publisher is not None:
            publisher.stop()
        if taker is not None:
            taker.close()
    return 0

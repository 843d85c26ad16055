"""``camwatch-agent check`` (one full check, a table, a reason for every camera not up)
and ``camwatch-agent reference`` (reset scene references)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TextIO

from protocol import CameraState

from .config import AgentConfig, ConfigError, Secrets, load_config, load_secrets
from .models import PrintSink, ProbeResult
from .references import ReferenceStore
from .runner import Runner

__all__ = ["EXIT_CONFIG", "exit_code", "load_all", "print_table", "register"]

EXIT_OK, EXIT_DEGRADED, EXIT_DOWN, EXIT_NOTHING, EXIT_CONFIG = 0, 1, 2, 3, 78


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``check`` and ``reference`` subcommands."""
    check = sub.add_parser("check", help="check every configured camera once and print a table")
    check.add_argument("--camera", action="append", default=[], metavar="ID", help="only this camera (repeatable)")
    check.add_argument("--json", action="store_true", help="one JSON object per camera instead of a table")
    check.set_defaults(func=cmd_check)
    ref = sub.add_parser("reference", help="forget scene references so the next good picture becomes one")
    ref.add_argument("cameras", nargs="*", metavar="ID", help="camera ids (default: every camera)")
    ref.set_defaults(func=cmd_reference)


def load_all(path: str) -> tuple[AgentConfig, Secrets | None]:
    """Load the config and (when configured) the camera secrets file."""
    config = load_config(path)
    secrets_path = config.credentials.path()
    secrets = load_secrets(secrets_path) if secrets_path is not None else None
    return config, secrets


def exit_code(results: list[ProbeResult]) -> int:
    """0 all up, 1 some degraded, 2 some down, 3 nothing checked."""
    if not results:
        return EXIT_NOTHING
    states = {r.state for r in results}
    if CameraState.DOWN in states:
        return EXIT_DOWN
    return EXIT_DEGRADED if CameraState.DEGRADED in states else EXIT_OK


def print_table(results: list[ProbeResult], out: TextIO = sys.stdout) -> None:
    """A fixed-width table: camera, state, reason, picture figures, and what to do."""
    rows = [("CAMERA", "STATE", "REASON", "SIZE", "FPS", "1ST FRAME", "SECONDS", "WHAT WAS FOUND")]
    for r in results:
        size = f"{r.width}x{r.height}" if r.width else "-"
        fps = f"{r.fps:.1f}" if r.fps is not None else "-"
        first = f"{r.first_frame_s:.2f}s" if r.first_frame_s is not None else "-"
        reason = "" if r.state is CameraState.UP else r.reason.value
        rows.append((r.camera_id, r.state.value, reason, size, fps, first, f"{r.seconds:.1f}", r.message))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]), file=out)
    counts = {s: sum(1 for r in results if r.state is s) for s in (CameraState.UP, CameraState.DEGRADED, CameraState.DOWN)}
    print(f"\n{len(results)} cameras: {counts[CameraState.UP]} up, {counts[CameraState.DEGRADED]} degraded, "
          f"{counts[CameraState.DOWN]} down", file=out)


async def _check_once(runner: Runner) -> list[ProbeResult]:
    """Read the recorders first (when configured), so the table shows recording reasons too."""
    if runner.recording is not None:
        await runner.recording.check()
    return await runner.check_all()


def cmd_check(args: argparse.Namespace) -> int:
    """Check every configured camera once."""
    try:
        config, secrets = load_all(args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    if args.camera:
        unknown = set(args.camera) - {c.id for c in config.cameras}
        if unknown:
            print(f"error: no camera with id {', '.join(sorted(unknown))} in {args.config}", file=sys.stderr)
            return EXIT_CONFIG
        config = config.model_copy(update={"cameras": [c for c in config.cameras if c.id in args.camera]})
    if not any(c.enabled for c in config.cameras):
        print(f"no cameras to check in {args.config}: run 'camwatch-agent discover' then 'init'", file=sys.stderr)
        return EXIT_NOTHING
    runner = Runner(config, secrets, PrintSink(sys.stderr))
    if sys.stderr.isatty():
        runner.on_result = lambda r: print(f"  checked {r.camera_id}: {r.state.value}", file=sys.stderr)
    try:
        results = asyncio.run(_check_once(runner))
    finally:
        runner.close()
    if args.json:
        for r in results:
            print(json.dumps({"camera_id": r.camera_id, "state": r.state.value, "reason": r.reason.value,
                              "message": r.message, "width": r.width, "height": r.height, "fps": r.fps,
                              "first_frame_s": r.first_frame_s, "clock_offset_s": r.clock_offset_s,
                              "seconds": round(r.seconds, 3)}))
    else:
        print_table(results)
    return exit_code(results)


def cmd_reference(args: argparse.Namespace) -> int:
    """Delete scene references."""
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    store = ReferenceStore(config.state_dir / "references")
    ids = args.cameras or [c.id for c in config.cameras]
    for cam in ids:
        done = store.reset(cam)
        print(f"{cam}: {'reference removed' if done else 'had no reference'}")
    return EXIT_OK

"""Installer commands ``camwatch-agent discover`` and ``camwatch-agent init``.

``discover`` probes the site (WS-Discovery multicast, unicast addresses and CIDR ranges),
reads every device over ONVIF with the credential sets of the secrets file, tries each
stream once, and prints a table plus one line per problem an installer can act on.
``init`` does the same and writes a starting agent config (one camera per video source)
and, if there is none yet, a secrets-file template with mode 0600.

Exit codes (both commands; the same scheme as ``check``):
    0   every device was read and every stream works
    1   all devices work, with warnings (a camera clock far off)
    2   at least one device fails: unreachable, wrong password, no ONVIF, stream broken
    3   no device answered
    78  bad address range, config or secrets file (sysexits EX_CONFIG)
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from agent.config import (
    DEFAULT_CONFIG_PATH,
    AgentConfig,
    ConfigError,
    DiscoveryConfig,
    load_config,
    load_secrets,
    parse_config,
)
from agent.device import site_camera_ids
from agent.discovery import WS_DISCOVERY_PORT, DiscoveryError
from agent.onvif_client import Timeouts
from agent.survey import CredentialSet, DeviceReport, survey

__all__ = ["EXIT_CONFIG", "EXIT_NOTHING_FOUND", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_WARNINGS",
           "main", "register"]

EXIT_OK = 0
EXIT_WARNINGS = 1
EXIT_PROBLEMS = 2
EXIT_NOTHING_FOUND = 3
EXIT_CONFIG = 78
_EPILOG = ("exit codes: 0 all good, 1 warnings only, 2 some device fails, 3 no device answered, "
           "78 bad range/config/secrets")
SECRETS_TEMPLATE = """\
# camwatch camera credentials. Keep this file private: mode 0600, owned by the agent's user.
# Each set is tried on cameras that name no set of their own, in try_order.
# Some cameras lock an account after a few wrong passwords: keep this list short.
credentials:
  default:
    username: admin
    password: ""
try_order: [default]
"""


def register(subparsers: Any) -> None:
    """Add ``discover`` and ``init`` to the agent's argparse subcommands."""
    disc = subparsers.add_parser(
        "discover", help="find every camera on the site and say what is wrong with each",
        description=__doc__.split("\n\n")[1], epilog=_EPILOG)
    _survey_options(disc)
    disc.add_argument("--json", action="store_true", help="print the reports as JSON")
    disc.set_defaults(func=run_discover)

    init = subparsers.add_parser(
        "init", help="discover and write a starting agent config", epilog=_EPILOG)
    _survey_options(init)
    init.add_argument("--site-id", required=True, help="site id issued at enrolment")
    init.add_argument("--province", required=True, help="two-digit DOPA province code")
    init.add_argument("--district", required=True, help="four-digit DOPA district code")
    init.add_argument("--site-name", default="", help="human name of the site")
    init.add_argument("--force", action="store_true", help="overwrite an existing config")
    init.set_defaults(func=run_init)


def _survey_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", action="append", default=[], metavar="IP|CIDR",
                        help="probe this address or range by unicast (repeatable; routed VLANs)")
    parser.add_argument("--interface", action="append", default=[], metavar="ADDR|NAME",
                        help="send multicast from this interface (repeatable)")
    parser.add_argument("--no-multicast", action="store_true", help="unicast probes only")
    parser.add_argument("--onvif-port", action="append", type=int, default=[], metavar="PORT",
                        help="ONVIF port tried on listed addresses that ignore WS-Discovery "
                             "(repeatable; config: onvif_ports)")
    parser.add_argument("--wait", type=float, default=None, metavar="S",
                        help="seconds to wait for probe replies (config: probe_timeout_s)")
    parser.add_argument("--secrets", type=Path, default=None,
                        help="camera secrets file (default: from the config)")
    parser.add_argument("--username", default=None, help="try this camera user name too")
    parser.add_argument("--password-env", default=None, metavar="VAR",
                        help="environment variable holding that user's password")
    parser.add_argument("--no-stream-check", action="store_true", help="do not open the streams")
    parser.add_argument("--discovery-port", type=int, default=WS_DISCOVERY_PORT,
                        help=argparse.SUPPRESS)  # labs and tests only


def _load_optional_config(path: Path) -> AgentConfig | None:
    return load_config(path) if path.exists() else None


def _credential_sets(args: argparse.Namespace, config: AgentConfig | None) -> list[CredentialSet]:
    sets: list[CredentialSet] = []
    path = args.secrets or (config.credentials.path() if config else None)
    if path is not None and (args.secrets is not None or Path(path).exists()):
        secrets = load_secrets(path)
        names = secrets.try_order or list(secrets.credentials)
        for name in names:
            cred = secrets.credentials[name]
            sets.append(CredentialSet(name, cred.username, cred.password.get_secret_value()))
    if args.username:
        password = os.environ.get(args.password_env, "") if args.password_env else ""
        if args.password_env and not password:
            raise ConfigError(f"environment variable {args.password_env} is empty or not set")
        sets.insert(0, CredentialSet("--username", args.username, password))
    return sets


async def _run_survey(args: argparse.Namespace, config: AgentConfig | None) -> list[DeviceReport]:
    disc = config.discovery if config else DiscoveryConfig()
    checks = config.checks if config else None
    return await survey(
        multicast=disc.ws_discovery and not args.no_multicast,
        interfaces=args.interface or disc.interfaces,
        targets=args.target or disc.unicast_targets,
        onvif_ports=args.onvif_port or disc.onvif_ports,
        credential_sets=_credential_sets(args, config),
        wait_s=args.wait if args.wait is not None else disc.probe_timeout_s,
        discovery_port=args.discovery_port,
        max_addresses=disc.max_hosts,
        check_streams=not args.no_stream_check,
        max_clock_skew_s=checks.max_clock_skew_s if checks else 300.0,
        timeouts=Timeouts(),
        open_timeout_s=checks.rtsp_open_timeout_s if checks else 8.0,
        read_timeout_s=checks.rtsp_read_timeout_s if checks else 4.0,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )


def _surveyed(args: argparse.Namespace, config: AgentConfig | None) -> list[DeviceReport] | int:
    try:
        return asyncio.run(_run_survey(args, config))
    except (DiscoveryError, ConfigError) as err:
        print(f"camwatch-agent: {err}", file=sys.stderr)
        return EXIT_CONFIG


def _exit_code(reports: Sequence[DeviceReport]) -> int:
    if not reports:
        return EXIT_NOTHING_FOUND
    if not all(r.ok for r in reports):
        return EXIT_PROBLEMS
    return EXIT_WARNINGS if any(r.warnings for r in reports) else EXIT_OK


def _row(report: DeviceReport) -> list[str]:
    info, dev = report.info, report.device
    if report.streams:
        good = sum(1 for s in report.streams if s.ok)
        stream = "ok" if good == len(report.streams) else f"{good}/{len(report.streams)} ok"
    elif info and info.sources:
        stream = "not checked"
    else:
        stream = "-"
    return [
        dev.address if dev.port == 80 else f"{dev.address}:{dev.port}",
        info.maker if info else "?", info.model if info else (dev.hardware or "?"),
        info.firmware if info else "?", info.serial if info else "?",
        str(len(info.sources)) if info else "?", report.auth, stream,
    ]


def print_table(reports: Sequence[DeviceReport]) -> None:
    """Print the device table and the problem lines."""
    head = ["ADDRESS", "MAKER", "MODEL", "FIRMWARE", "SERIAL", "SOURCES", "AUTH", "STREAM"]
    rows = [head] + [_row(r) for r in reports]
    widths = [min(40, max(len(row[i]) for row in rows)) for i in range(len(head))]
    for row in rows:
        print("  ".join(cell[:40].ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for report in reports:
        for stream in report.streams:
            if stream.ok:
                print(f"  {report.device.address} {stream.source.token}: {stream.text} "
                      f"({stream.source.stream_uri})")
    problems = [p for r in reports for p in r.problems]
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
    warnings = [w for r in reports for w in r.warnings]
    if warnings:
        print(f"\n{len(warnings)} warning(s):")
        for warning in warnings:
            print(f"  - {warning}")


def _as_json(report: DeviceReport, ids: dict[str, str]) -> dict[str, Any]:
    info = report.info
    return {
        "address": report.device.address, "port": report.device.port,
        "endpoint": report.device.endpoint, "auth": report.auth,
        "credential": report.credential.name if report.credential else None,
        "maker": info.maker if info else None, "model": info.model if info else None,
        "firmware": info.firmware if info else None, "serial": info.serial if info else None,
        "mac": info.mac if info else None,
        "clock_offset_s": info.clock_offset_s if info else None,
        "camera_ids": ids,
        "sources": [{"token": s.token, "stream_uri": s.stream_uri, "snapshot_uri": s.snapshot_uri,
                     "width": s.width, "height": s.height, "codec": s.codec}
                    for s in (info.sources if info else ())],
        "streams": [{"token": s.source.token, "ok": s.ok, "text": s.text} for s in report.streams],
        "problems": report.problems, "warnings": report.warnings, "ok": report.ok,
    }


def run_discover(args: argparse.Namespace) -> int:
    """Run ``camwatch-agent discover``."""
    try:
        config = _load_optional_config(Path(args.config))
    except ConfigError as err:
        print(f"camwatch-agent: {err}", file=sys.stderr)
        return EXIT_CONFIG
    reports = _surveyed(args, config)
    if isinstance(reports, int):
        return reports
    if args.json:
        ids = assign_ids(reports)
        print(json.dumps([_as_json(r, i) for r, i in zip(reports, ids, strict=True)], indent=2))
    elif reports:
        assign_ids(reports)  # adds the shared-serial warnings
        print_table(reports)
    else:
        print("no camera answered: check the network cable/VLAN, or list the cameras' "
              "addresses with --target (routed networks do not pass multicast)")
    return _exit_code(reports)


def assign_ids(reports: Sequence[DeviceReport]) -> list[dict[str, str]]:
    """Camera ids per report ({} when unread); warns on devices sharing one serial number."""
    read = [r for r in reports if r.info is not None]
    pairs = [(r.info, r.device.endpoint) for r in read if r.info is not None]
    by_report = dict(zip((id(r) for r in read), site_camera_ids(pairs), strict=True))
    serials = Counter(info.serial for info, _ in pairs if info.serial)
    for report in read:
        assert report.info is not None
        serial = report.info.serial
        if serial and serials[serial] > 1:
            note = (f"{report.device.address} shares serial number {serial!r} with another device: "
                    "identified by its MAC instead")
            if note not in report.warnings:
                report.warnings.append(note)
    return [by_report.get(id(r), {}) for r in reports]


def camera_entries(reports: Sequence[DeviceReport]) -> list[dict[str, Any]]:
    """Config entries for every video source of every device that was read."""
    entries: list[dict[str, Any]] = []
    for report, ids in zip(reports, assign_ids(reports), strict=True):
        info = report.info
        if info is None:
            continue
        for source in info.sources:
            label = report.device.name or f"{info.maker} {info.model}".strip()
            if len(info.sources) > 1:
                label = f"{label} {source.token}"
            entry: dict[str, Any] = {
                "id": ids[source.token], "name": label[:200], "address": info.address,
                "onvif_port": info.port, "video_source": source.token,
                "stream_uri": source.stream_uri, "snapshot_uri": source.snapshot_uri,
            }
            if report.credential is not None and report.credential.name != "--username":
                entry["credential"] = report.credential.name
            entries.append(entry)
    return entries


def _write_secrets_template(path: Path) -> bool:
    """Create the secrets template with mode 0600; False when a file is already there."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(SECRETS_TEMPLATE)
    return True


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def run_init(args: argparse.Namespace) -> int:
    """Run ``camwatch-agent init``."""
    target = Path(args.config)
    if target.exists() and not args.force:
        print(f"camwatch-agent: {target} exists; use --force to overwrite it", file=sys.stderr)
        return EXIT_CONFIG
    secrets_path = args.secrets or target.with_name("camera-credentials.yaml")
    interfaces = [i for i in args.interface if _is_ipv4(i)]  # the config takes addresses only
    data: dict[str, Any] = {
        "site": {"site_id": args.site_id, "province": args.province, "district": args.district,
                 "name": args.site_name},
        "discovery": {"ws_discovery": not args.no_multicast, "interfaces": interfaces,
                      "unicast_targets": args.target},
        "credentials": {"file": str(secrets_path)},
        "cameras": [],
    }
    try:
        parse_config(data, "init")  # refuse bad site fields before probing the network
        args.secrets = secrets_path if secrets_path.exists() else None
        reports = _surveyed(args, None)
        if isinstance(reports, int):
            return reports
        data["cameras"] = camera_entries(reports)
        parse_config(data, str(target))
    except ConfigError as err:
        print(f"camwatch-agent: {err}", file=sys.stderr)
        return EXIT_CONFIG
    target.parent.mkdir(parents=True, exist_ok=True)
    text = ("# camwatch agent config written by `camwatch-agent init`; review before `run`.\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    print_table(reports)
    print(f"\nwrote {target} with {len(data['cameras'])} camera(s)")
    if _write_secrets_template(secrets_path):
        print(f"wrote {secrets_path} (mode 0600): fill in the camera passwords")
    skipped = [r.device.address for r in reports if r.info is None]
    if skipped:
        print("not added (could not be read): " + ", ".join(skipped) + "; fix and run init again")
    return _exit_code(reports)


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry (tests, development): the two commands with the global -c option."""
    parser = argparse.ArgumentParser(prog="camwatch-agent")
    parser.add_argument("-c", "--config", default=str(DEFAULT_CONFIG_PATH), help="agent config file")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    # force: onvif-zeep-async calls logging.basicConfig(level=INFO) when imported.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", force=True)
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``camwatch-aggregator topology render``: every broker's files of a national topology, from one description.

The description is a TOML file (deploy/topology/example.toml) and/or flags; a flag wins over
the file's value. ``--national a=mqtt-a.example:8883,b`` names the national brokers (a bare
name is also its host); ``--provinces 10,50`` the provinces. See aggregator.broker.topology.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aggregator.broker.topology import Topology, render

__all__ = ["register"]


def _national(spec: str) -> list[dict[str, Any]]:
    brokers: list[dict[str, Any]] = []
    for item in (i.strip() for i in spec.split(",") if i.strip()):
        name, _, where = item.partition("=")
        host, _, port = (where or name).partition(":")
        broker: dict[str, Any] = {"name": name, "host": host}
        if port:
            broker["port"] = int(port)
        brokers.append(broker)
    return brokers


def description(args: argparse.Namespace) -> Topology:
    """The topology from ``--description`` and the flags (flags win)."""
    data: dict[str, Any] = {}
    if args.description is not None:
        data = tomllib.loads(args.description.read_text(encoding="utf-8"))
    if args.national:
        data["national"] = _national(args.national)
    if args.provinces:
        data["provinces"] = [{"code": c.strip()} for c in args.provinces.split(",") if c.strip()]
    for key in ("port", "province_host", "conf_dir", "data_dir", "aggregator_cafile"):
        value = getattr(args, key)
        if value is not None:
            data[key] = value
    return Topology.model_validate(data)


def _render(args: argparse.Namespace) -> int:
    try:
        topo = description(args)
    except (OSError, tomllib.TOMLDecodeError, ValueError, ValidationError) as err:
        sys.stderr.write(f"topology render: {err}\n")
        return 2
    rendered = render(topo, args.out)
    for name, directory in sorted(rendered.brokers.items()):
        sys.stdout.write(f"{name}: {directory}/camwatch.conf, camwatch.passwd, camwatch.acl\n")
    for name, path in sorted(rendered.aggregators.items()):
        sys.stdout.write(f"aggregator {name}: {path}\n")
    sys.stdout.write(f"passwords (mode 0600, kept on the next render): {args.out / 'secrets'}\n")
    return 0


def register(subparsers: Any) -> None:
    """Add ``topology render``."""
    topology = subparsers.add_parser("topology", help="provincial and national brokers, bridged")
    commands = topology.add_subparsers(dest="topology_command", required=True)
    p = commands.add_parser("render", help="write every broker's config, password file and ACL")
    p.add_argument("--description", type=Path, default=None, help="TOML description (deploy/topology/example.toml)")
    p.add_argument("--provinces", default=None, help="comma-separated DOPA codes, e.g. 10,50,90")
    p.add_argument("--national", default=None, help="national brokers NAME[=HOST[:PORT]],... e.g. a,b")
    p.add_argument("--port", type=int, default=None, help="TLS listener port of every broker (8883)")
    p.add_argument("--province-host", default=None, help="host of a province's broker, {code} replaced")
    p.add_argument("--conf-dir", default=None, help="where a broker's files are installed; {broker} replaced")
    p.add_argument("--data-dir", default=None, help="a broker's persistence directory; {broker} replaced")
    p.add_argument("--aggregator-cafile", default=None, help="CA file on the aggregators' machines")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.set_defaults(func=_render, settings_free=True)

"""`camwatch-agent discover` / `init` against simulated cameras and the RTSP rig (issue 3: installer CLI)."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.cli_discover import (
    EXIT_CONFIG,
    EXIT_NOTHING_FOUND,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_WARNINGS,
    main,
)
from agent.config import load_config, load_secrets
from tests.rig.onvif_sim import SimCamera, loopback_block
from tests.rig.rtsp_server import PASSWORD, USER, RtspServer

pytest_plugins = ["tests.integration.conftest_onvif", "tests.rig.rtsp"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_secrets(path: Path, sets: dict[str, tuple[str, str]], mode: int = 0o600) -> Path:
    data = {"credentials": {n: {"username": u, "password": p} for n, (u, p) in sets.items()},
            "try_order": list(sets)}
    path.write_text(yaml.safe_dump(data))
    path.chmod(mode)
    return path


def discover_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main(list(argv[:2]) + ["discover", "--json", *argv[2:]])
    out = capsys.readouterr()
    return code, json.loads(out.out) if out.out.strip() else [], out.err


@pytest.fixture
def site(onvif_camera: Callable[..., SimCamera], rtsp_server: RtspServer) -> dict[str, Any]:
    port = free_udp_port()
    block = loopback_block(4)
    common = {"discovery": True, "discovery_port": port}
    cams = {
        "open": onvif_camera(host=block[0], serial="OPEN-1", stream_urls=[rtsp_server.uri("moving")], **common),
        "secure": onvif_camera(host=block[1], serial="SEC-2", username=USER, password=PASSWORD,
                               stream_urls=[rtsp_server.uri("secure/moving")], **common),
        "skewed": onvif_camera(host=block[2], serial="SKEW-3", clock_offset_s=36000,
                               stream_urls=[rtsp_server.uri("moving")], **common),
    }
    return {"port": port, "cams": cams, "block": block}


def test_discover_finds_every_camera_and_says_what_is_wrong(
        site: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secrets = write_secrets(tmp_path / "secrets.yaml", {"site": (USER, PASSWORD)})
    code, reports, err = discover_json(
        capsys, "-c", str(tmp_path / "none.yaml"), "--interface", "lo",
        "--discovery-port", str(site["port"]), "--wait", "3", "--secrets", str(secrets))
    by_addr = {r["address"]: r for r in reports}
    cams = site["cams"]
    assert set(by_addr) == {c.host for c in cams.values()}
    secure = by_addr[cams["secure"].host]
    assert (secure["auth"], secure["credential"], secure["serial"]) == ("ok", "site", "SEC-2")
    assert secure["streams"] == [{"token": "VS_1", "ok": True, "text": secure["streams"][0]["text"]}]
    assert secure["streams"][0]["text"].startswith("320x240")
    assert by_addr[cams["open"].host]["ok"] is True
    assert by_addr[cams["open"].host]["camera_ids"] == {"VS_1": "OPEN-1:VS_1"}
    skewed = by_addr[cams["skewed"].host]
    assert skewed["ok"] is True and skewed["problems"] == []
    assert skewed["warnings"] == [
        f"camera clock is 10 h off (ahead) at {cams['skewed'].host}: set NTP or the time on the camera"]
    assert code == EXIT_WARNINGS  # only the clock needs attention
    assert "found" in err and "reading 3 device(s)" in err  # progress while probing
    assert PASSWORD not in err + json.dumps(reports)


def test_wrong_password_is_named_with_the_address(
        onvif_camera: Callable[..., SimCamera], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cam = onvif_camera(username="admin", password="right-one")
    secrets = write_secrets(tmp_path / "s.yaml", {"old": ("admin", "wrong-1"), "vendor": ("admin", "12345")})
    code = main(["-c", str(tmp_path / "none.yaml"), "discover", "--no-multicast",
                 "--target", cam.host, "--onvif-port", str(cam.port), "--secrets", str(secrets),
                 "--no-stream-check", "--discovery-port", str(free_udp_port()), "--wait", "0.3"])
    out = capsys.readouterr().out
    assert code == EXIT_PROBLEMS
    # Found through the ONVIF port probe: this camera has WS-Discovery off.
    assert f"wrong password for {cam.host}:{cam.port} (tried: old, vendor)" in out
    assert "wrong-1" not in out and "12345" not in out


def test_all_good_exits_zero_and_prints_a_table(
        onvif_camera: Callable[..., SimCamera], rtsp_server: RtspServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    port = free_udp_port()
    cam = onvif_camera(host=loopback_block(1)[0], manufacturer="Acme", model="AC-9", serial="GOOD-1",
                       firmware="9.9", discovery=True, discovery_port=port,
                       stream_urls=[rtsp_server.uri("moving")])
    code = main(["-c", str(tmp_path / "none.yaml"), "discover", "--no-multicast", "--target",
                 cam.host, "--discovery-port", str(port), "--wait", "3"])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    header, row = out.splitlines()[:2]
    assert header.split() == ["ADDRESS", "MAKER", "MODEL", "FIRMWARE", "SERIAL", "SOURCES", "AUTH", "STREAM"]
    assert row.split() == [f"{cam.host}:{cam.port}", "Acme", "AC-9", "9.9", "GOOD-1", "1", "open", "ok"]


def test_nothing_found_exits_three(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-c", str(tmp_path / "none.yaml"), "discover", "--no-multicast", "--target",
                 loopback_block(1)[0], "--discovery-port", str(free_udp_port()), "--wait", "0.3"])
    assert code == EXIT_NOTHING_FOUND
    assert "--target" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "10.0.0.0/8"], "10.0.0.0/8 has 16777216 addresses"),
    (["--target", "not-an-ip"], "'not-an-ip' is not an IPv4 address"),
])
def test_bad_targets_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              args: list[str], message: str) -> None:
    code = main(["-c", str(tmp_path / "none.yaml"), "discover", "--no-multicast", *args])
    assert code == EXIT_CONFIG
    assert message in capsys.readouterr().err


def test_world_readable_secrets_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secrets = write_secrets(tmp_path / "s.yaml", {"a": ("admin", "pw")}, mode=0o644)
    code = main(["-c", str(tmp_path / "none.yaml"), "discover", "--no-multicast", "--target",
                 "127.0.0.1", "--secrets", str(secrets)])
    assert code == EXIT_CONFIG
    assert "chmod 600" in capsys.readouterr().err


def test_init_writes_a_valid_config_and_a_private_secrets_template(
        site: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "etc" / "agent.yaml"
    argv = ["-c", str(config), "init", "--site-id", "site-77", "--province", "10", "--district", "1001",
            "--interface", "127.0.0.1", "--discovery-port", str(site["port"]), "--wait", "3",
            "--no-stream-check"]
    code = main(argv)
    out = capsys.readouterr().out
    assert code == EXIT_PROBLEMS  # the secure camera needs a password, the skewed one is 10 h off
    loaded = load_config(config)
    assert loaded.site.site_id == "site-77"
    assert loaded.discovery.interfaces == ["127.0.0.1"]
    cams = site["cams"]
    by_id = {c.id: c for c in loaded.cameras}
    assert set(by_id) == {"OPEN-1:VS_1", "SKEW-3:VS_1"}
    assert by_id["OPEN-1:VS_1"].address == cams["open"].host
    assert by_id["OPEN-1:VS_1"].onvif_port == cams["open"].port
    assert by_id["OPEN-1:VS_1"].video_source == "VS_1"
    secrets = config.with_name("camera-credentials.yaml")
    assert loaded.credentials.file == secrets
    assert os.stat(secrets).st_mode & 0o777 == 0o600
    assert load_secrets(secrets).try_order == ["default"]
    assert f"not added (could not be read): {cams['secure'].host}" in out
    # A second init refuses to overwrite the config.
    assert main(argv) == EXIT_CONFIG
    assert "use --force" in capsys.readouterr().err


def test_init_refuses_a_bad_site_before_probing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-c", str(tmp_path / "a.yaml"), "init", "--site-id", "s1", "--province", "99",
                 "--district", "1001", "--no-multicast"])
    assert code == EXIT_CONFIG
    assert "province" in capsys.readouterr().err
    assert not (tmp_path / "a.yaml").exists()


def test_registered_in_the_agent_command(onvif_camera: Callable[..., SimCamera], tmp_path: Path) -> None:
    import subprocess
    import sys

    port = free_udp_port()
    cam = onvif_camera(host=loopback_block(1)[0], serial="ENTRY-1", discovery=True, discovery_port=port)
    done = subprocess.run(
        [sys.executable, "-m", "agent", "-c", str(tmp_path / "none.yaml"), "discover", "--no-multicast",
         "--target", cam.host, "--discovery-port", str(port), "--wait", "3", "--no-stream-check"],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == EXIT_OK, done.stderr
    assert "ENTRY-1" in done.stdout
    assert "INFO" not in done.stderr  # library log noise stays out of the installer's screen


def test_cameras_sharing_a_serial_get_distinct_ids(
        onvif_camera: Callable[..., SimCamera], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_udp_port()
    a, b = loopback_block(2)
    onvif_camera(host=a, serial="000000", mac="02:00:00:00:0a:01", discovery=True, discovery_port=port)
    onvif_camera(host=b, serial="000000", mac="02:00:00:00:0b:02", discovery=True, discovery_port=port)
    config = tmp_path / "agent.yaml"
    code = main(["-c", str(config), "init", "--site-id", "s1", "--province", "10", "--district", "1001",
                 "--no-multicast", "--target", a, "--target", b, "--discovery-port", str(port),
                 "--wait", "3", "--no-stream-check"])
    out = capsys.readouterr().out
    assert code == EXIT_WARNINGS
    assert sorted(c.id for c in load_config(config).cameras) == [
        "02:00:00:00:0a:01:VS_1", "02:00:00:00:0b:02:VS_1"]
    assert f"{a} shares serial number '000000' with another device" in out


def test_factory_default_password_is_a_warning(
        onvif_camera: Callable[..., SimCamera], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_udp_port()
    cam = onvif_camera(host=loopback_block(1)[0], username="admin", password="12345",
                       discovery=True, discovery_port=port)
    secrets = write_secrets(tmp_path / "s.yaml", {"vendor": ("admin", "12345")})
    code, reports, _ = discover_json(
        capsys, "-c", str(tmp_path / "none.yaml"), "--no-multicast", "--target", cam.host,
        "--discovery-port", str(port), "--wait", "3", "--secrets", str(secrets), "--no-stream-check")
    assert code == EXIT_WARNINGS
    (report,) = reports
    assert report["warnings"] == [
        f"{cam.host} still uses a factory default password (set 'vendor'): change it"]
    assert "12345" not in json.dumps(reports)

"""topology render (issue 17): the files of every broker from one description, without a broker.

The rendered brokers run in tests/integration/test_topology_bridges.py; here: the shape of the
files, the secrets kept across renders, the hashes Mosquitto checks, the ACL blocks that
enrol-site keeps, and no drift from the shipped single-broker config."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from sqlite_utils import Database

from aggregator.__main__ import main
from aggregator.broker.enrol import EnrolError, check_site_id, write_acl
from aggregator.broker.roles import aggregator_acl_lines, province_of_link_topic
from aggregator.broker.topology import NationalBroker, Province, Topology, render

REPO = Path(__file__).resolve().parents[2]
# Lines of the shipped broker config whose values a topology sets per broker.
_PER_BROKER = {"listener", "password_file", "acl_file", "persistence_location", "cafile", "certfile", "keyfile",
               "max_queued_messages"}  # fmt: skip


def _topology(**extra: object) -> Topology:
    return Topology(national=[NationalBroker(name="a", host="na.example"), NationalBroker(name="b", host="nb.example")],
                    provinces=[Province(code="10"), Province(code="50", host="cm.example")], **extra)  # type: ignore[arg-type]  # fmt: skip


def _verify(hashed: str, password: str) -> bool:
    _, _, iterations, salt, digest = hashed.split("$")
    mine = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations), dklen=64)
    return base64.b64encode(mine).decode() == digest


def test_render_writes_bridges_credentials_and_acls(tmp_path: Path) -> None:
    rendered = render(_topology(), tmp_path)
    assert sorted(rendered.brokers) == ["national-a", "national-b", "province-10", "province-50"]
    conf = (tmp_path / "province-50" / "camwatch.conf").read_text()
    bridge_pw = (tmp_path / "secrets" / "bridge-50.password").read_text().strip()
    for national, host in (("a", "na.example"), ("b", "nb.example")):
        assert f"connection camwatch-50-to-{national}\naddress {host}:8883\n" in conf
        assert f"local_clientid bridge-50-to-{national}" in conf
    assert conf.count("cleansession false") == 2 and conf.count("notifications true") == 2
    assert conf.count("topic camwatch/v1/50/+/+/events both 1") == 2
    assert conf.count("topic camwatch/v1/50/+/+/ack in 1") == 2 and "camwatch/v1/50/# out" not in conf
    assert f"remote_password {bridge_pw}" in conf and "camwatch/v1/10/" not in conf
    for name in ("national-a", "national-b"):
        users = dict(line.split(":", 1) for line in (tmp_path / name / "camwatch.passwd").read_text().split())
        assert sorted(users) == ["aggregator", "bridge-10", "bridge-50"]
        assert _verify(users["bridge-50"], bridge_pw) and users["bridge-50"].startswith("$7$")
        acl = (tmp_path / name / "camwatch.acl").read_text()
        assert "user bridge-50\ntopic readwrite camwatch/v1/50/+/+/birth\n" in acl
        assert "topic write $SYS/broker/connection/bridge-50/state" in acl
    province_acl = (tmp_path / "province-50" / "camwatch.acl").read_text()
    assert "user aggregator-50\ntopic read camwatch/v1/50/#\n" in province_acl and "write" not in province_acl
    secondary = (tmp_path / "aggregators" / "province-50.toml").read_text()
    assert 'role = "secondary"' in secondary and 'province = "50"' in secondary
    assert 'url = "mqtts://cm.example:8883"' in secondary and bridge_pw not in secondary
    national_toml = (tmp_path / "aggregators" / "national.toml").read_text()
    assert 'role = "primary"' in national_toml and 'url = "mqtts://na.example:8883"' in national_toml
    assert 'fallback_urls = ["mqtts://nb.example:8883"]' in national_toml
    assert oct((tmp_path / "secrets" / "bridge-50.password").stat().st_mode & 0o777) == "0o600"


def test_rendering_again_keeps_every_password(tmp_path: Path) -> None:
    render(_topology(), tmp_path)
    before = {p.name: p.read_text() for p in (tmp_path / "secrets").iterdir()}
    render(_topology(), tmp_path)
    assert {p.name: p.read_text() for p in (tmp_path / "secrets").iterdir()} == before


def test_rendered_brokers_keep_the_shipped_broker_settings(tmp_path: Path) -> None:
    render(_topology(), tmp_path)
    shipped = [line.strip() for line in (REPO / "deploy/mosquitto/mosquitto.conf").read_text().splitlines()
               if line.strip() and not line.startswith("#") and line.split()[0] not in _PER_BROKER]  # fmt: skip
    for name in ("national-a", "province-10"):
        rendered = (tmp_path / name / "camwatch.conf").read_text().splitlines()
        assert [line for line in shipped if line not in rendered] == []
        # No per-listener line before the first listener (it would open a default listener on 1883).
        assert rendered.index("listener 8883") < rendered.index("use_username_as_clientid true")


def test_enrol_keeps_the_bridge_users_and_the_secondary_role(tmp_path: Path) -> None:
    render(_topology(), tmp_path)
    national = tmp_path / "national-a"
    write_acl(national / "camwatch.acl", Database(memory=True), national / "camwatch.passwd", "aggregator")
    acl = (national / "camwatch.acl").read_text()
    assert "user bridge-10\n" in acl and "user bridge-50\n" in acl and "topic read $SYS/broker/connection/+/state" in acl
    province = tmp_path / "province-10"
    write_acl(province / "camwatch.acl", Database(memory=True), province / "camwatch.passwd", "aggregator-10",
              primary=False, province="10")  # fmt: skip
    assert "user aggregator-10\ntopic read camwatch/v1/10/#\n" in (province / "camwatch.acl").read_text()
    assert aggregator_acl_lines("x", primary=False) == ["user x", "topic read camwatch/v1/+/#"]
    for reserved in ("bridge-10", "aggregator-50"):
        with pytest.raises(EnrolError):
            check_site_id(reserved, "aggregator")


def test_link_topic_names_its_province() -> None:
    assert province_of_link_topic("$SYS/broker/connection/bridge-50/state") == "50"
    assert province_of_link_topic("$SYS/broker/connection/bridge-5x/state") is None
    assert province_of_link_topic("$SYS/broker/connection/site-1/state") is None


def test_cli_renders_from_description_and_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["topology", "render", "--description", str(REPO / "deploy/topology/example.toml"),
                 "--provinces", "10,50", "--out", str(tmp_path)])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("national", "province"))) == [
        "national-a", "national-b", "province-10", "province-50"]  # fmt: skip
    assert "address mqtt-b.camwatch.example:8883" in (tmp_path / "province-10" / "camwatch.conf").read_text()
    assert main(["topology", "render", "--provinces", "10,10", "--national", "a", "--out", str(tmp_path)]) == 2
    assert "listed twice" in capsys.readouterr().err


def test_sites_enrolled_in_a_province_are_kept_and_may_fail_over_to_the_national_brokers(tmp_path: Path) -> None:
    """Issue 17: a site enrolled into a province's directory keeps its account and ACL block
    there across renders, and its hash is copied to both national brokers, whose ACL lets a
    site use its own topics only (``pattern`` on %u), so the agent's fallback broker accepts it."""
    render(_topology(), tmp_path)
    province = tmp_path / "province-50"
    with (province / "camwatch.passwd").open("a") as fh:
        fh.write("cnx-0001:$7$101$c2FsdA==$ZGlnZXN0\n")
    with (province / "camwatch.acl").open("a") as fh:
        fh.write("\nuser cnx-0001\ntopic write camwatch/v1/50/5001/cnx-0001/events\n")
    render(_topology(), tmp_path)
    assert "cnx-0001:$7$101$c2FsdA==$ZGlnZXN0\n" in (province / "camwatch.passwd").read_text()
    assert "aggregator-50:" in (province / "camwatch.passwd").read_text()
    assert "user cnx-0001\ntopic write camwatch/v1/50/5001/cnx-0001/events" in (province / "camwatch.acl").read_text()
    for name in ("national-a", "national-b"):
        users = dict(line.split(":", 1) for line in (tmp_path / name / "camwatch.passwd").read_text().split())
        assert sorted(users) == ["aggregator", "bridge-10", "bridge-50", "cnx-0001"]
        assert users["cnx-0001"] == "$7$101$c2FsdA==$ZGlnZXN0"
        acl = (tmp_path / name / "camwatch.acl").read_text()
        assert "pattern write camwatch/v1/+/+/%u/events" in acl and "pattern read camwatch/v1/+/+/%u/ack" in acl
        assert "pattern read camwatch/v1/host/state" in acl and "pattern write camwatch/v1/+/+/%u/ack" not in acl
    assert "cnx-0001" not in (tmp_path / "province-10" / "camwatch.passwd").read_text()

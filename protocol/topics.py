"""Build and parse camwatch MQTT topics; nothing else in camwatch writes a topic string.

Layout (version 1):

    camwatch/v1/{province}/{district}/{site}/{kind}    site topics (agent <-> centre)
    camwatch/v1/host/state                              retained aggregator state
    camwatch/v1/alerts/{province}/{district}            fault alerts for technician apps

Province and district are DOPA codes (2 and 4 digits, the district starting with its
province). A site id is 1-64 characters of ``[A-Za-z0-9_.-]``: it doubles as the site's
MQTT username, so MQTT wildcards and separators can never appear in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .errors import TopicError

__all__ = [
    "ALERTS_ROOT",
    "HOST_STATE_TOPIC",
    "NATIONAL_ALERT_TOPIC",
    "NATIONAL_SCOPE",
    "ROOT",
    "Kind",
    "SiteTopic",
    "agent_subscriptions",
    "alert_topic",
    "parse_site_topic",
    "site_filter",
    "site_topic",
    "validate_district",
    "validate_province",
    "validate_site_id",
]

ROOT = "camwatch/v1"
HOST_STATE_TOPIC = f"{ROOT}/host/state"
ALERTS_ROOT = f"{ROOT}/alerts"
# A fault of no province (a national broker down) is in the national scope "00" (no DOPA code);
# its alerts go to this topic, which only readers of every province's alerts (alerts/#) see.
NATIONAL_SCOPE = "00"
NATIONAL_ALERT_TOPIC = f"{ALERTS_ROOT}/{NATIONAL_SCOPE}"

_PROVINCE_RE = re.compile(r"^[1-9][0-9]$")
_DISTRICT_RE = re.compile(r"^[1-9][0-9]{3}$")
# A site id is also its MQTT username and client id: it starts with a letter or digit, so
# '.', '..', '-x' (read as an option by tools) and '$' (Mosquitto's own topics) never name a site.
_SITE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# A topic is at most this long; far below MQTT's 65535 so brokers' ACL rules stay cheap.
_MAX_TOPIC_LENGTH = 200


class Kind(StrEnum):
    """What a site topic carries."""

    BIRTH = "birth"
    DEATH = "death"
    EVENTS = "events"
    HEARTBEAT = "heartbeat"
    ACK = "ack"
    CMD = "cmd"
    SNAPSHOT = "snapshot"

    @property
    def from_agent(self) -> bool:
        """Whether agents publish this kind (the others are published by the centre)."""
        return self in (Kind.BIRTH, Kind.DEATH, Kind.EVENTS, Kind.HEARTBEAT, Kind.SNAPSHOT)


@dataclass(frozen=True, slots=True)
class SiteTopic:
    """A parsed site topic."""

    province: str
    district: str
    site: str
    kind: Kind

    def __str__(self) -> str:
        return site_topic(self.province, self.district, self.site, self.kind)


def validate_province(code: str) -> str:
    """Return ``code`` if it is a two-digit DOPA province code, else raise TopicError."""
    if not isinstance(code, str) or not _PROVINCE_RE.match(code):
        raise TopicError(f"province {code!r}: must be a two-digit DOPA code such as '10'")
    return code


def validate_district(code: str, province: str | None = None) -> str:
    """Return ``code`` if it is a four-digit DOPA district code (inside ``province`` if given)."""
    if not isinstance(code, str) or not _DISTRICT_RE.match(code):
        raise TopicError(f"district {code!r}: must be a four-digit DOPA code such as '1001'")
    if province is not None and not code.startswith(province):
        raise TopicError(f"district {code!r} is not in province {province!r}")
    return code


def validate_site_id(site: str) -> str:
    """Return ``site`` if it is a valid site id (no MQTT wildcards or separators)."""
    if not isinstance(site, str) or not _SITE_RE.match(site):
        raise TopicError(
            f"site id {site!r}: must be 1-64 characters of letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return site


def site_topic(province: str, district: str, site: str, kind: Kind | str) -> str:
    """Build the topic for one site and kind, validating every segment."""
    validate_province(province)
    validate_district(district, province)
    validate_site_id(site)
    try:
        kind = Kind(kind)
    except ValueError as err:
        raise TopicError(f"kind {kind!r}: must be one of {[k.value for k in Kind]}") from err
    return f"{ROOT}/{province}/{district}/{site}/{kind.value}"


def parse_site_topic(topic: str) -> SiteTopic:
    """Parse a site topic, raising TopicError naming the bad segment."""
    if not isinstance(topic, str) or not topic:
        raise TopicError("topic is empty")
    if len(topic) > _MAX_TOPIC_LENGTH:
        raise TopicError(f"topic is {len(topic)} characters, over {_MAX_TOPIC_LENGTH}")
    parts = topic.split("/")
    if len(parts) != 6 or f"{parts[0]}/{parts[1]}" != ROOT:
        raise TopicError(f"topic {topic!r}: expected {ROOT}/<province>/<district>/<site>/<kind>")
    _, _, province, district, site, kind = parts
    validate_province(province)
    validate_district(district, province)
    validate_site_id(site)
    try:
        parsed_kind = Kind(kind)
    except ValueError as err:
        raise TopicError(f"topic {topic!r}: unknown kind {kind!r}") from err
    return SiteTopic(province, district, site, parsed_kind)


def site_filter(
    province: str = "+", district: str = "+", site: str = "+", kind: Kind | str = "+"
) -> str:
    """Build a subscription filter; any segment left out is the '+' wildcard."""
    if province != "+":
        validate_province(province)
    if district != "+":
        validate_district(district, None if province == "+" else province)
    if site != "+":
        validate_site_id(site)
    kind_s = kind if kind == "+" else Kind(kind).value
    return f"{ROOT}/{province}/{district}/{site}/{kind_s}"


def agent_subscriptions(province: str, district: str, site: str) -> list[str]:
    """Topics an agent subscribes to: its own ack and cmd, and the host state."""
    return [
        site_topic(province, district, site, Kind.ACK),
        site_topic(province, district, site, Kind.CMD),
        HOST_STATE_TOPIC,
    ]


def alert_topic(province: str, district: str) -> str:
    """Topic carrying fault alerts for technicians of one district."""
    validate_province(province)
    validate_district(district, province)
    return f"{ALERTS_ROOT}/{province}/{district}"

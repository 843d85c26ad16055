"""Firmware advisories: which cameras run firmware with a known (exploited) vulnerability.

A fact for the audit, never an action: a matched camera becomes the hygiene flag
``advisory`` and a count per province (:func:`advisory_counts`, for the committee pack).
The list starts as the file shipped beside this module (``advisories.csv``: the well-known
exploited Hikvision and Dahua flaws, each row with its source); an administrator replaces
it without a release (``camwatch-aggregator advisories import FILE`` or
``POST /api/v1/audit/advisories``). An import is all or nothing: any bad row refuses the
file with one line per bad row.

Columns (CSV, UTF-8, header row): ``maker`` and ``model_pattern`` are shell patterns
matched without case (``DS-2CD2??2F-I*``); ``affected_from``/``affected_to`` bound the
firmware version inclusively, compared as :func:`aggregator.audit.hygiene.version_key`
does; ``built_before`` (YYYY-MM-DD) matches firmware built earlier, read from the build
stamp in the firmware string (Hikvision ``build 210628``, Dahua ``Build Date: 2021-06-28``);
``cve``; ``kev`` (yes/no: on CISA's Known Exploited Vulnerabilities catalog); ``title``;
``source`` (an http(s) URL). A criterion left empty does not restrict; a firmware whose
version or build date cannot be read never matches a row that needs it.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path

from sqlite_utils import Database

from aggregator.audit.hygiene import FleetCamera, version_key

__all__ = [
    "COLUMNS",
    "SHIPPED",
    "Advisory",
    "AdvisoryError",
    "advisory_counts",
    "build_date",
    "current_advisories",
    "import_advisories",
    "match_advisories",
    "migrate_advisories",
    "parse_advisories",
]

SHIPPED = Path(__file__).with_name("advisories.csv")
COLUMNS = ("maker", "model_pattern", "affected_from", "affected_to", "built_before", "cve", "kev",
           "title", "source")
MAX_ROWS = 10_000
_CVE = re.compile(r"^CVE-\d{4}-\d{4,7}$")
_HIK_BUILD = re.compile(r"build\s*(\d{2})(\d{2})(\d{2})\b", re.IGNORECASE)
_ISO_BUILD = re.compile(r"(20\d{2})[-./](\d{2})[-./](\d{2})")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS advisories (
    id INTEGER PRIMARY KEY,
    maker TEXT NOT NULL, model_pattern TEXT NOT NULL, affected_from TEXT NOT NULL,
    affected_to TEXT NOT NULL, built_before TEXT NOT NULL, cve TEXT NOT NULL, kev INTEGER NOT NULL,
    title TEXT NOT NULL, source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS advisory_imports (
    id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, by_user TEXT NOT NULL, rows INTEGER NOT NULL
)
"""


class AdvisoryError(ValueError):
    """The advisories file was refused; ``lines`` says why, one line per bad row."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = list(lines)


@dataclass(frozen=True, slots=True)
class Advisory:
    """One row: which cameras a CVE affects."""

    maker: str
    model_pattern: str
    affected_from: str
    affected_to: str
    built_before: str
    cve: str
    kev: bool
    title: str
    source: str

    def matches(self, maker: str, model: str, firmware: str) -> bool:
        """Whether a camera of ``maker``/``model`` running ``firmware`` is affected."""
        if not fnmatchcase(maker.strip().lower(), self.maker.lower()):
            return False
        if not fnmatchcase(model.strip().lower(), self.model_pattern.lower()):
            return False
        if self.affected_from or self.affected_to:
            key = version_key(firmware)
            if key is None:
                return False
            low = version_key(self.affected_from) if self.affected_from else None
            high = version_key(self.affected_to) if self.affected_to else None
            if (low is not None and key < low) or (high is not None and key > high):
                return False
        if self.built_before:
            built = build_date(firmware)
            if built is None or built >= date.fromisoformat(self.built_before):
                return False
        return True


def build_date(firmware: str) -> date | None:
    """The build date stamped in a firmware string, or None (``build 210628``, ``2021-06-28``)."""
    iso = _ISO_BUILD.search(firmware)
    hik = _HIK_BUILD.search(firmware)
    try:
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        if hik:
            return date(2000 + int(hik.group(1)), int(hik.group(2)), int(hik.group(3)))
    except ValueError:
        return None
    return None


def _row(line: int, cells: dict[str, str]) -> tuple[Advisory | None, list[str]]:
    c = {k: (cells.get(k) or "").strip() for k in COLUMNS}
    problems: list[str] = []
    if not c["maker"]:
        problems.append("maker is empty")
    if not c["model_pattern"]:
        problems.append("model_pattern is empty (use * for every model)")
    for bound in ("affected_from", "affected_to"):
        if c[bound] and version_key(c[bound]) is None:
            problems.append(f"{bound} {c[bound]!r} holds no version number")
    if c["built_before"]:
        try:
            date.fromisoformat(c["built_before"])
        except ValueError:
            problems.append(f"built_before {c['built_before']!r} is not a date YYYY-MM-DD")
    if not _CVE.match(c["cve"]):
        problems.append(f"cve {c['cve']!r} is not like CVE-2021-36260")
    if c["kev"].lower() not in ("yes", "no"):
        problems.append(f"kev {c['kev']!r} must be yes or no")
    if not c["source"].startswith(("https://", "http://")):
        problems.append("source must be the http(s) address of the advisory")
    if problems:
        return None, [f"row {line}: " + "; ".join(problems)]
    return Advisory(c["maker"], c["model_pattern"], c["affected_from"], c["affected_to"], c["built_before"],
                    c["cve"], c["kev"].lower() == "yes", c["title"][:300], c["source"][:500]), []


def parse_advisories(text: str) -> list[Advisory]:
    """Parse and validate an advisories CSV; raise AdvisoryError with one line per bad row."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise AdvisoryError([f"header: missing column(s) {', '.join(missing)} (expected {','.join(COLUMNS)})"])
    rows: list[Advisory] = []
    errors: list[str] = []
    for number, cells in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise AdvisoryError([f"more than {MAX_ROWS} rows"])
        if not any((v or "").strip() for v in cells.values() if isinstance(v, str)):
            continue
        advisory, problems = _row(number, cells)
        errors.extend(problems)
        if advisory is not None:
            rows.append(advisory)
    if errors:
        raise AdvisoryError(errors)
    if not rows:
        raise AdvisoryError(["the file has no advisory rows"])
    return rows


def migrate_advisories(db: Database) -> None:
    """The imported advisories and who imported them (listed in aggregator/schema.py as advisories_v1)."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.conn.execute(statement)


def current_advisories(db: Database) -> list[Advisory]:
    """The administrator's imported list, else the file shipped with this release."""
    rows = db.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM advisories ORDER BY id").fetchall()
    if not rows:
        return parse_advisories(SHIPPED.read_text(encoding="utf-8"))
    return [Advisory(m, p, f, t, b, cve, bool(kev), title, src) for m, p, f, t, b, cve, kev, title, src in rows]


def import_advisories(db: Database, text: str, *, by: str, now_ms: int) -> int:
    """Replace the list with the rows of ``text`` (all or nothing); return how many."""
    rows = parse_advisories(text)
    with db.conn:
        db.conn.execute("DELETE FROM advisories")
        db.conn.executemany(
            f"INSERT INTO advisories ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [(a.maker, a.model_pattern, a.affected_from, a.affected_to, a.built_before, a.cve, int(a.kev),
              a.title, a.source) for a in rows])
        db.conn.execute("INSERT INTO advisory_imports (at_ms, by_user, rows) VALUES (?, ?, ?)",
                        (now_ms, by, len(rows)))
    return len(rows)


def match_advisories(cameras: Iterable[FleetCamera], advisories: Sequence[Advisory]) -> dict[str, list[Advisory]]:
    """Camera key -> the advisories its maker, model and firmware match (matched cameras only).

    A fleet has few distinct (maker, model, firmware) triples: each is judged once."""
    out: dict[str, list[Advisory]] = {}
    seen: dict[tuple[str, str, str], list[Advisory]] = {}
    for cam in cameras:
        triple = (cam.maker, cam.model, cam.firmware)
        found = seen.get(triple)
        if found is None:
            found = seen[triple] = [a for a in advisories if a.matches(*triple)]
        if found:
            out[cam.key] = found
    return out


def advisory_counts(db: Database, province: str | None = None) -> dict[str, dict[str, int]]:
    """Per province: cameras matched by any advisory, by a KEV one, and per CVE.

    For the committee pack: ``{"10": {"cameras": 3, "kev": 3, "CVE-2021-36260": 2, ...}}``;
    provinces without a matched camera are absent. The present cameras are counted per
    (province, maker, model, firmware) in SQL and each group judged once: a fleet has few
    distinct triples, so a national count reads numbers, not every camera's row.
    """
    sql = ("SELECT s.province, c.maker, c.model, c.firmware, count(*) FROM cameras c JOIN sites s "
           "ON s.id = c.site WHERE c.missing = 0")  # fmt: skip
    params: list[str] = []
    if province:
        sql += " AND s.province = ?"
        params.append(province)
    listed = current_advisories(db)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for prov, maker, model, firmware, n in db.conn.execute(sql + " GROUP BY 1, 2, 3, 4", params):
        found = [a for a in listed if a.matches(str(maker or ""), str(model or ""), str(firmware or ""))]
        if not found:
            continue
        per = counts[str(prov)]
        per["cameras"] += int(n)
        per["kev"] += int(n) if any(a.kev for a in found) else 0
        for cve in sorted({a.cve for a in found}):
            per[cve] += int(n)
    return {p: dict(v) for p, v in sorted(counts.items())}

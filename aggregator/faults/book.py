"""The fault book: active and recently closed faults and every lifecycle step.

:class:`FaultBook` owns the records and how one changes (open, reopen, hold, resolve,
acknowledge, close as won't-fix); :class:`~aggregator.faults.rules.FaultEngine` adds the rules
deciding when. Split so each stays readable; neither touches a database or the network.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from aggregator.faults.model import (
    Fault,
    FaultAction,
    FaultChange,
    FaultKind,
    FaultRules,
    FaultStatus,
    RepairNote,
    Resolution,
)
from protocol import CameraState, Reason

__all__ = ["FaultBook", "FaultNotFound", "FaultStateError", "Key", "StillFailing"]

Key = tuple[str, str]


class FaultNotFound(LookupError):
    """No active fault has that id."""


class FaultStateError(ValueError):
    """The action does not fit the fault's status (e.g. acknowledging a resolved fault)."""


class StillFailing(FaultStateError):
    """Resolving a fault whose camera (or site) is still not up: only won't-fix may close it."""


class FaultBook:
    """Active faults by what is failing, recently closed ones (for reopening), and their steps."""

    def __init__(
        self,
        rules: FaultRules | None = None,
        *,
        next_id: int = 1,
        active: Iterable[Fault] = (),
        agency_of: Callable[[str], str] | None = None,
        closed: Iterable[Fault] = (),
    ) -> None:
        self.rules = rules or FaultRules()
        self._next_id = next_id
        self._active: dict[Key, Fault] = {}
        self._by_id: dict[int, Key] = {}
        self._children: dict[int, set[Key]] = defaultdict(set)
        self._closed: dict[Key, Fault] = {}  # recently resolved or closed as won't-fix, for reopening
        # Won't-fix closures whose camera has not been up since: its failure goes on, so it
        # neither reopens them nor opens a new fault (the technician decided about it).
        self._unrecovered: set[Key] = set()
        self._district_faults: dict[str, set[str]] = defaultdict(set)  # province -> active district faults
        self._agency_of = agency_of or (lambda _site: "")
        for fault in active:
            self._put(fault)
            self._next_id = max(self._next_id, fault.id + 1)
        for fault in closed:  # closed within the reopen window before a restart
            if fault.key not in self._active:
                self._closed[fault.key] = fault
            self._next_id = max(self._next_id, fault.id + 1)

    # -- queries -----------------------------------------------------------------------

    def active(self) -> list[Fault]:
        """Every open or acknowledged fault."""
        return list(self._active.values())

    def get(self, fault_id: int) -> Fault | None:
        """The active fault with this id, if any."""
        key = self._by_id.get(fault_id)
        return self._active.get(key) if key else None

    def active_for_camera(self, camera_id: str) -> Fault | None:
        """The camera's active (camera or flapping) fault, if any."""
        return self._active.get(("camera", camera_id))

    def active_for_site(self, site: str) -> Fault | None:
        """The site's active site fault, if any."""
        return self._active.get(("site", site))

    # -- lifecycle primitives ----------------------------------------------------------

    def _put(self, fault: Fault) -> None:
        if fault.kind is FaultKind.DISTRICT and fault.district:
            self._district_faults[fault.province].add(fault.district)
        self._active[fault.key] = fault
        self._by_id[fault.id] = fault.key
        if fault.parent_id is not None:
            self._children[fault.parent_id].add(fault.key)

    def _open(
        self,
        key: Key,
        *,
        kind: FaultKind,
        province: str,
        district: str | None,
        site: str | None,
        camera_id: str | None,
        state: CameraState,
        reason: Reason,
        at: datetime,
        live: bool,
        out: list[FaultChange],
        parent: Fault | None = None,
        affected: int = 1,
        broker: str | None = None,
    ) -> Fault:
        recent = self._closed.pop(key, None)
        self._unrecovered.discard(key)
        window = timedelta(seconds=self.rules.reopen_window_s)
        if (
            recent is not None
            and recent.resolved_at is not None
            and timedelta(0) <= at - recent.resolved_at <= window  # not from a backfill before it
        ):
            # Resolved (by hand or by recovery) or closed as won't-fix, failing again soon:
            # the same fault with its history, not a new one that hides the repeat.
            fault = dataclasses.replace(
                recent,
                kind=kind,
                status=FaultStatus.OPEN,
                state=state,
                reason=reason,
                opened_at=at,
                acknowledged_at=None,
                acknowledged_by=None,
                resolved_at=None,
                resolved_by=None,
                resolution=None,
                reopen_count=recent.reopen_count + 1,
                escalation_level=0,
                alerted_at=None,
                parent_id=parent.id if parent else None,
                historical=not live,
                affected=affected,
            )
            action = FaultAction.REOPENED
        else:
            fault = Fault(
                id=self._next_id,
                kind=kind,
                status=FaultStatus.OPEN,
                province=province,
                district=district,
                site=site,
                camera_id=camera_id,
                state=state,
                reason=reason,
                opened_at=at,
                first_opened_at=at,
                agency=self._agency_of(site) if site else "",
                parent_id=parent.id if parent else None,
                historical=not live,
                affected=affected,
                broker=broker,
            )
            self._next_id += 1
            action = FaultAction.OPENED
        if kind is FaultKind.FLAPPING:
            action = FaultAction.FLAPPING
        self._put(fault)
        out.append(FaultChange(action, fault, at, live))
        return fault

    def _change(
        self,
        fault: Fault,
        action: FaultAction,
        at: datetime,
        live: bool,
        out: list[FaultChange],
        *,
        by: str = "",
        detail: str = "",
        **fields: object,
    ) -> Fault:
        new = dataclasses.replace(fault, **fields)  # type: ignore[arg-type]
        if new.status.active:
            self._active[new.key] = new
        else:
            self._active.pop(new.key, None)
            self._by_id.pop(new.id, None)
            if new.kind is FaultKind.DISTRICT and new.district:
                self._district_faults[new.province].discard(new.district)
        out.append(FaultChange(action, new, at, live, by, detail))
        return new

    def _to_flapping(self, fault: Fault, at: datetime, live: bool, out: list[FaultChange]) -> None:
        self._change(fault, FaultAction.FLAPPING, at, live, out, kind=FaultKind.FLAPPING)

    def _resolve(
        self,
        fault: Fault,
        at: datetime,
        live: bool,
        out: list[FaultChange],
        resolution: Resolution,
        *,
        by: str,
        note: RepairNote | None = None,
    ) -> Fault:
        status = FaultStatus.WONT_FIX if resolution is Resolution.WONT_FIX else FaultStatus.RESOLVED
        action = FaultAction.CLOSED if resolution is Resolution.WONT_FIX else FaultAction.RESOLVED
        done = self._change(
            fault,
            action,
            at,
            live,
            out,
            by=by,
            detail=note.done if note else "",
            status=status,
            resolved_at=at,
            resolved_by=by or None,
            resolution=resolution,
            note=note.done if note else fault.note,
            parts=note.parts if note else fault.parts,
            cost=note.cost if note else fault.cost,
        )
        self._closed[done.key] = done
        if resolution is Resolution.WONT_FIX:
            self._unrecovered.add(done.key)
        self._after_close(done, at, live, out)
        return done

    # -- technician actions ------------------------------------------------------------

    def _require(self, fault_id: int) -> Fault:
        fault = self.get(fault_id)
        if fault is None:
            raise FaultNotFound(f"fault {fault_id} is not open")
        return fault

    def acknowledge(self, fault_id: int, by: str, now: datetime) -> list[FaultChange]:
        """Record that ``by`` has taken the fault on (stops escalation)."""
        fault = self._require(fault_id)
        if fault.status is not FaultStatus.OPEN:
            raise FaultStateError(f"fault {fault_id} is {fault.status.value}, not open")
        out: list[FaultChange] = []
        self._change(
            fault,
            FaultAction.ACKNOWLEDGED,
            now,
            True,
            out,
            by=by,
            status=FaultStatus.ACKNOWLEDGED,
            acknowledged_at=now,
            acknowledged_by=by,
        )
        return out

    def assign(self, fault_id: int, by: str, assignee: str, now: datetime) -> list[FaultChange]:
        """Give the fault to ``assignee`` (``by`` may name themselves): an open fault is taken on
        (acknowledged, escalation stops) in their name; an acknowledged one changes hands."""
        fault = self._require(fault_id)
        out: list[FaultChange] = []
        detail = f"assigned to {assignee}"
        if fault.status is FaultStatus.OPEN:
            self._change(fault, FaultAction.ACKNOWLEDGED, now, True, out, by=by, detail=detail,
                         status=FaultStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=assignee)  # fmt: skip
        elif fault.status is FaultStatus.ACKNOWLEDGED:
            self._change(fault, FaultAction.ASSIGNED, now, True, out, by=by, detail=detail, acknowledged_by=assignee)
        else:
            raise FaultStateError(f"fault {fault_id} is {fault.status.value}, not active")
        return out

    def resolve(
        self, fault_id: int, by: str, note: RepairNote, now: datetime, *, wont_fix: bool = False
    ) -> list[FaultChange]:
        """Resolve (or close as won't-fix) a fault by hand, with the repair note.

        Resolving is refused (:class:`StillFailing`) while what the fault is about is still not
        up: a resolved fault on a broken camera would hide it. Won't-fix closes it anyway.
        A fault its camera's recovery already resolved (the repair made it come up before the
        technician wrote the note) takes the note: resolved by them, at the recovery's time."""
        if self.get(fault_id) is None and not wont_fix:
            recovered = next((f for f in self._closed.values() if f.id == fault_id), None)
            if recovered is not None and recovered.resolution is Resolution.AUTO:
                return self._note_repair(recovered, by, note, now)
        fault = self._require(fault_id)
        if not wont_fix:
            failing = self.still_failing(fault)
            if failing:
                raise StillFailing(failing)
        out: list[FaultChange] = []
        resolution = Resolution.WONT_FIX if wont_fix else Resolution.TECHNICIAN
        self._resolve(fault, now, True, out, resolution, by=by, note=note)
        return out

    def _note_repair(self, fault: Fault, by: str, note: RepairNote, now: datetime) -> list[FaultChange]:
        out: list[FaultChange] = []
        done = self._change(fault, FaultAction.RESOLVED, now, True, out, by=by, detail=note.done,
                            resolved_by=by or None, resolution=Resolution.TECHNICIAN, note=note.done,
                            parts=note.parts, cost=note.cost)  # fmt: skip
        self._closed[done.key] = done
        return out

    def still_failing(self, fault: Fault) -> str:
        """Why ``fault``'s subject is still not up ("camera C is still down (no_video)"), or ""."""
        return ""  # the engine knows the states (aggregator.faults.rules.FaultEngine)

    def mark_alerted(self, fault_id: int, now: datetime) -> list[FaultChange]:
        """Record that the fault's first live alert went out (escalation counts from here)."""
        fault = self.get(fault_id)
        if fault is None or fault.alerted_at is not None:
            return []
        out: list[FaultChange] = []
        self._change(fault, FaultAction.ALERTED, now, True, out, alerted_at=now)
        return out

    def _after_close(self, done: Fault, at: datetime, live: bool, out: list[FaultChange]) -> None:
        """Called after a fault closes (the engine releases what was held under it)."""

"""Fault rules: turn confirmed state transitions into one fault per real problem.

The engine is a pure, in-memory core: it is fed transitions and technician actions with
the time passed in, and answers with :class:`FaultChange` records that the store persists
and the notifier turns into alerts. It never touches the database or the network, so a
national day of transitions can be replayed through it in a test.

Rules (issue 6):

* a confirmed ``down``/``degraded`` camera opens a camera fault with its reason; ``up``
  resolves it automatically (its duration is ``resolved_at - opened_at``);
* a site whose agent is gone (a whole-site transition, ``camera_id is None``) opens ONE site
  fault; camera failures under it are held back and, once the site returns, the cameras
  still failing get a fault each;
* more than ``flap_changes`` changes within ``flap_window_s`` turns the camera's fault into
  one flapping fault, which ends only once the camera has been up and still for a window;
* most sites of a district lost at once is one district fault (site faults are held under
  it); most districts of a province is one province fault;
* a failure within ``reopen_window_s`` of the resolution reopens the same fault.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from protocol import CameraState, Reason

from .fault_model import (
    Fault,
    FaultAction,
    FaultChange,
    FaultKind,
    FaultRules,
    FaultStatus,
    RepairNote,
    Resolution,
    TransitionLike,
)

__all__ = ["FaultEngine", "FaultNotFound", "FaultStateError"]

logger = logging.getLogger(__name__)

_FAILING = (CameraState.DOWN, CameraState.DEGRADED)
# Pruning reopen and flap memory walks every recently changed camera (a national day is
# hundreds of thousands): once a minute bounds memory without costing every tick.
_FORGET_EVERY_S = 60.0
Key = tuple[str, str]


class FaultNotFound(LookupError):
    """No active fault has that id."""


class FaultStateError(ValueError):
    """The action does not fit the fault's status (e.g. acknowledging a resolved fault)."""


@dataclass(frozen=True, slots=True)
class _Failing:
    site: str
    province: str
    district: str
    state: CameraState
    reason: Reason
    since: datetime
    historical: bool


@dataclass(frozen=True, slots=True)
class _Gone:
    province: str
    district: str
    since: datetime


class FaultEngine:
    """Apply fault rules to transitions; every method takes the time and returns changes.

    Usage::

        engine = FaultEngine(FaultRules(), next_id=store.next_id(), active=store.load_active())
        changes = engine.process(result.transitions, now)
        changes += engine.tick(now)
    """

    def __init__(
        self,
        rules: FaultRules | None = None,
        *,
        next_id: int = 1,
        active: Iterable[Fault] = (),
        sites_in_district: Callable[[str], int] | None = None,
        districts_in_province: Callable[[str], int] | None = None,
        agency_of: Callable[[str], str] | None = None,
    ) -> None:
        self.rules = rules or FaultRules()
        self._next_id = next_id
        self._active: dict[Key, Fault] = {}
        self._by_id: dict[int, Key] = {}
        self._children: dict[int, set[Key]] = defaultdict(set)
        self._closed: dict[Key, Fault] = {}  # recently resolved, for reopening
        self._failing: dict[str, _Failing] = {}
        self._failing_by_site: dict[str, set[str]] = defaultdict(set)
        self._flaps: dict[str, deque[datetime]] = {}
        self._gone: dict[str, _Gone] = {}
        self._seen_sites: dict[str, set[str]] = defaultdict(set)  # district -> sites
        self._seen_districts: dict[str, set[str]] = defaultdict(set)  # province -> districts
        self._district_faults: dict[str, set[str]] = defaultdict(set)  # province -> active district faults
        self._sites_in_district = sites_in_district
        self._districts_in_province = districts_in_province
        self._agency_of = agency_of or (lambda _site: "")
        self._last_forget: datetime | None = None
        for fault in active:
            self._put(fault)
            self._next_id = max(self._next_id, fault.id + 1)
            if fault.kind is FaultKind.SITE and fault.site and fault.district:
                self._gone[fault.site] = _Gone(fault.province, fault.district, fault.opened_at)

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

    def site_offline(self, site: str) -> bool:
        """Whether the site's agent is gone right now."""
        return site in self._gone

    # -- transitions -------------------------------------------------------------------

    def process(self, transitions: Iterable[TransitionLike], now: datetime) -> list[FaultChange]:
        """Apply a committed batch of transitions, in order."""
        out: list[FaultChange] = []
        for t in transitions:
            self._seen_sites[t.district].add(t.site)
            self._seen_districts[t.province].add(t.district)
            if t.camera_id is None:
                if t.new_state in (CameraState.UNKNOWN, CameraState.DOWN):
                    self._site_lost(t, out)
                elif t.new_state in (CameraState.UP, CameraState.DEGRADED):
                    self._site_back(t, out)
            else:
                self._camera(t, t.camera_id, out)
        return out

    def _camera(self, t: TransitionLike, cam: str, out: list[FaultChange]) -> None:
        live = not t.historical
        if t.reason is Reason.SITE_OFFLINE or t.new_state in (
            CameraState.UNKNOWN,
            CameraState.MAINTENANCE,
        ):
            # Nobody knows (or planned work): neither a failure nor a recovery.
            self._unfail(cam)
            return
        flapping = self._count_flap(cam, t.at)
        fault = self._active.get(("camera", cam))
        if t.new_state is CameraState.UP:
            self._unfail(cam)
            if fault is None:
                return
            if flapping and fault.kind is FaultKind.CAMERA:
                self._to_flapping(fault, t.at, live, out)
            elif fault.kind is FaultKind.CAMERA:
                self._resolve(fault, t.at, live, out, Resolution.AUTO, by="")
            return
        if t.new_state not in _FAILING:
            return
        failing = _Failing(t.site, t.province, t.district, t.new_state, t.reason, t.at, t.historical)
        self._failing[cam] = failing
        self._failing_by_site[t.site].add(cam)
        if fault is not None:
            if flapping and fault.kind is FaultKind.CAMERA:
                self._to_flapping(fault, t.at, live, out)
            elif (fault.state, fault.reason) != (t.new_state, t.reason):
                self._change(fault, FaultAction.UPDATED, t.at, live, out, state=t.new_state, reason=t.reason)
            return
        if self._held(t.site, t.district, t.province):
            return
        kind = FaultKind.FLAPPING if flapping else FaultKind.CAMERA
        self._open_camera(cam, failing, kind, t.at, live, out)

    def _open_camera(
        self, cam: str, f: _Failing, kind: FaultKind, at: datetime, live: bool, out: list[FaultChange]
    ) -> None:
        self._open(
            ("camera", cam),
            kind=kind,
            province=f.province,
            district=f.district,
            site=f.site,
            camera_id=cam,
            state=f.state,
            reason=f.reason,
            at=at,
            live=live,
            out=out,
        )

    def _count_flap(self, cam: str, at: datetime) -> bool:
        window = timedelta(seconds=self.rules.flap_window_s)
        changes = self._flaps.get(cam)
        if changes is None:
            changes = self._flaps[cam] = deque()
        changes.append(at)
        while changes and at - changes[0] > window:
            changes.popleft()
        return len(changes) > self.rules.flap_changes

    def _unfail(self, cam: str) -> None:
        failing = self._failing.pop(cam, None)
        if failing is not None:
            self._failing_by_site[failing.site].discard(cam)

    def _held(self, site: str, district: str, province: str) -> bool:
        return (
            site in self._gone
            or ("district", district) in self._active
            or ("province", province) in self._active
        )

    # -- sites and areas ---------------------------------------------------------------

    def _area_parent(self, district: str, province: str) -> Fault | None:
        return self._active.get(("province", province)) or self._active.get(("district", district))

    def _site_lost(self, t: TransitionLike, out: list[FaultChange]) -> None:
        if t.site in self._gone:
            return
        self._gone[t.site] = _Gone(t.province, t.district, t.at)
        live = not t.historical
        parent = self._area_parent(t.district, t.province)
        self._open(
            ("site", t.site),
            kind=FaultKind.SITE,
            province=t.province,
            district=t.district,
            site=t.site,
            camera_id=None,
            state=CameraState.UNKNOWN,
            reason=Reason.SITE_OFFLINE if t.reason is Reason.NONE else t.reason,
            at=t.at,
            live=live,
            out=out,
            parent=parent,
        )
        if parent is None:
            self._check_district(t.district, t.province, t.at, live, out)

    def _lost_at_once(self, district: str, at: datetime) -> list[str]:
        window = timedelta(seconds=self.rules.area_window_s)
        return [
            site
            for site in self._seen_sites[district]
            if (g := self._gone.get(site)) is not None and at - g.since <= window
        ]

    def _district_size(self, district: str) -> int:
        if self._sites_in_district is not None:
            return max(self._sites_in_district(district), len(self._seen_sites[district]))
        return len(self._seen_sites[district])

    def _province_size(self, province: str) -> int:
        if self._districts_in_province is not None:
            return max(self._districts_in_province(province), len(self._seen_districts[province]))
        return len(self._seen_districts[province])

    def _check_district(
        self, district: str, province: str, at: datetime, live: bool, out: list[FaultChange]
    ) -> None:
        if ("district", district) in self._active:
            return
        size = self._district_size(district)
        lost = self._lost_at_once(district, at)
        if size < self.rules.area_min_sites or len(lost) < self.rules.area_fraction * size:
            return
        since = min(self._gone[s].since for s in lost)
        area = self._open(
            ("district", district),
            kind=FaultKind.DISTRICT,
            province=province,
            district=district,
            site=None,
            camera_id=None,
            state=CameraState.UNKNOWN,
            reason=Reason.SITE_OFFLINE,
            at=since,
            live=live,
            out=out,
            affected=len(lost),
        )
        for site in lost:
            child = self._active.get(("site", site))
            if child is not None and child.parent_id is None:
                self._hold(child, area, at, live, out)
        self._check_province(province, at, live, out)

    def _check_province(self, province: str, at: datetime, live: bool, out: list[FaultChange]) -> None:
        if ("province", province) in self._active:
            return
        window = timedelta(seconds=self.rules.area_window_s)
        districts = [
            f
            for d in self._district_faults.get(province, ())
            if (f := self._active.get(("district", d))) is not None and at - f.opened_at <= window
        ]
        size = self._province_size(province)
        if size < 2 or len(districts) < self.rules.area_fraction * size:
            return
        area = self._open(
            ("province", province),
            kind=FaultKind.PROVINCE,
            province=province,
            district=None,
            site=None,
            camera_id=None,
            state=CameraState.UNKNOWN,
            reason=Reason.SITE_OFFLINE,
            at=min(f.opened_at for f in districts),
            live=live,
            out=out,
            affected=sum(f.affected for f in districts),
        )
        for child in districts:
            self._hold(child, area, at, live, out)

    def _site_back(self, t: TransitionLike, out: list[FaultChange]) -> None:
        gone = self._gone.pop(t.site, None)
        live = not t.historical
        fault = self._active.get(("site", t.site))
        if fault is not None:
            self._resolve(fault, t.at, live, out, Resolution.AUTO, by="")
        if gone is None:
            return
        self._release_cameras(t.site, t.at, live, out)
        self._maybe_clear_area(t.district, t.province, t.at, live, out)

    def _release_cameras(self, site: str, at: datetime, live: bool, out: list[FaultChange]) -> None:
        for cam in sorted(self._failing_by_site.get(site, ())):
            failing = self._failing[cam]
            if ("camera", cam) not in self._active and not self._held(
                site, failing.district, failing.province
            ):
                self._open_camera(cam, failing, FaultKind.CAMERA, at, live and not failing.historical, out)

    def _maybe_clear_area(
        self, district: str, province: str, at: datetime, live: bool, out: list[FaultChange]
    ) -> None:
        area = self._active.get(("district", district))
        if area is not None:
            still = sum(1 for s in self._seen_sites[district] if s in self._gone)
            if still < self.rules.area_clear_fraction * self._district_size(district):
                self._resolve(area, at, live, out, Resolution.AUTO, by="")
        parea = self._active.get(("province", province))
        if parea is not None:
            still = len(self._district_faults.get(province, ()))
            if still < self.rules.area_clear_fraction * self._province_size(province):
                self._resolve(parea, at, live, out, Resolution.AUTO, by="")

    def _hold(self, child: Fault, parent: Fault, at: datetime, live: bool, out: list[FaultChange]) -> None:
        self._change(child, FaultAction.HELD, at, live, out, parent_id=parent.id, detail=str(parent.id))
        self._children[parent.id].add(child.key)

    def _release_children(self, parent: Fault, at: datetime, live: bool, out: list[FaultChange]) -> None:
        for key in sorted(self._children.pop(parent.id, ())):
            child = self._active.get(key)
            if child is None or child.parent_id != parent.id:
                continue
            child = self._change(child, FaultAction.RELEASED, at, live, out, parent_id=None)
            if child.kind is FaultKind.DISTRICT and child.district:
                self._maybe_clear_area(child.district, child.province, at, live, out)

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
    ) -> Fault:
        recent = self._closed.pop(key, None)
        window = timedelta(seconds=self.rules.reopen_window_s)
        if (
            recent is not None
            and recent.resolved_at is not None
            and recent.resolution is not Resolution.WONT_FIX
            and at - recent.resolved_at <= window
        ):
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
        if done.id in self._children:
            self._release_children(done, at, live, out)
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

    def resolve(
        self, fault_id: int, by: str, note: RepairNote, now: datetime, *, wont_fix: bool = False
    ) -> list[FaultChange]:
        """Resolve (or close as won't-fix) a fault by hand, with the repair note."""
        fault = self._require(fault_id)
        out: list[FaultChange] = []
        resolution = Resolution.WONT_FIX if wont_fix else Resolution.TECHNICIAN
        self._resolve(fault, now, True, out, resolution, by=by, note=note)
        return out

    def mark_alerted(self, fault_id: int, now: datetime) -> list[FaultChange]:
        """Record that the fault's first live alert went out (escalation counts from here)."""
        fault = self.get(fault_id)
        if fault is None or fault.alerted_at is not None:
            return []
        out: list[FaultChange] = []
        self._change(fault, FaultAction.ALERTED, now, True, out, alerted_at=now)
        return out

    # -- time --------------------------------------------------------------------------

    def tick(self, now: datetime, muted: Callable[[Fault, datetime], bool] | None = None) -> list[FaultChange]:
        """End flapping faults that went still, escalate unacknowledged ones, forget old state."""
        out: list[FaultChange] = []
        flap_window = timedelta(seconds=self.rules.flap_window_s)
        for fault in [f for f in self._active.values() if f.kind is FaultKind.FLAPPING]:
            cam = fault.camera_id or ""
            changes = self._flaps.get(cam)
            last = changes[-1] if changes else fault.opened_at
            if now - last >= flap_window and cam not in self._failing:
                self._resolve(fault, now, True, out, Resolution.AUTO, by="")
        delays = self.rules.escalate_after_s
        for fault in list(self._active.values()):
            if (
                fault.status is FaultStatus.OPEN
                and fault.alerted_at is not None
                and fault.parent_id is None
                and fault.escalation_level < len(delays)
                and (now - fault.alerted_at).total_seconds() >= delays[fault.escalation_level]
                and not (muted and muted(fault, now))
            ):
                self._change(
                    fault,
                    FaultAction.ESCALATED,
                    now,
                    True,
                    out,
                    escalation_level=fault.escalation_level + 1,
                    detail=str(fault.escalation_level + 1),
                )
        if self._last_forget is None or (now - self._last_forget).total_seconds() >= _FORGET_EVERY_S:
            self._last_forget = now
            self._forget(now)
        return out

    def _forget(self, now: datetime) -> None:
        reopen = timedelta(seconds=self.rules.reopen_window_s)
        for key in [k for k, f in self._closed.items() if f.resolved_at and now - f.resolved_at > reopen]:
            del self._closed[key]
        flap_window = timedelta(seconds=self.rules.flap_window_s)
        for cam in [c for c, d in self._flaps.items() if not d or now - d[-1] > flap_window]:
            if ("camera", cam) not in self._active:
                del self._flaps[cam]

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
* a failure within ``reopen_window_s`` of the resolution (by recovery, by hand or as
  won't-fix) reopens the same fault, with a ``reopened`` step in its history; a camera closed
  as won't-fix while still failing is left alone until it has been up again;
* a fault is resolved by hand only once its camera is up (or its site back): otherwise
  :class:`~aggregator.faults.book.StillFailing`, and only won't-fix closes it.

This module keeps the engine and the camera rules (failures, flapping, reopening, backfilled
history, time); the families around it are mixed in: sites and areas
(:mod:`aggregator.faults.areas`), recorders (:mod:`.recorders`), province links (:mod:`.links`),
national brokers (:mod:`.brokers`), all on the fault book (:mod:`.book`).
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.faults.areas import AreaFaults, GoneSite
from aggregator.faults.book import FaultNotFound, FaultStateError, StillFailing
from aggregator.faults.brokers import BrokerFaults
from aggregator.faults.model import (
    Fault,
    FaultAction,
    FaultChange,
    FaultKind,
    FaultRules,
    FaultStatus,
    Resolution,
    TransitionLike,
)
from aggregator.faults.recorders import RecorderFaults, RecorderOf
from protocol import CameraState, Reason

__all__ = ["FaultEngine", "FaultNotFound", "FaultStateError", "StillFailing"]

logger = logging.getLogger(__name__)

_FAILING = (CameraState.DOWN, CameraState.DEGRADED)
# Pruning reopen and flap memory walks every recently changed camera (a national day is
# hundreds of thousands): once a minute bounds memory without costing every tick.
_FORGET_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class _Failing:
    site: str
    province: str
    district: str
    state: CameraState
    reason: Reason
    since: datetime
    historical: bool


class FaultEngine(AreaFaults, RecorderFaults, BrokerFaults):
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
        closed: Iterable[Fault] = (),
        recorder_of: RecorderOf | None = None,
    ) -> None:
        super().__init__(rules, next_id=next_id, active=active, agency_of=agency_of, closed=closed)
        self.recorder_of = recorder_of
        self._failing: dict[str, _Failing] = {}
        self._failing_by_site: dict[str, set[str]] = defaultdict(set)
        self._flaps: dict[str, deque[datetime]] = {}
        self._init_areas(sites_in_district, districts_in_province)
        self._last_forget: datetime | None = None
        # camera -> its latest (state, reason) seen live, so a resolve by hand can be refused
        # while it is still not up (kept for cameras with an active or recently closed fault)
        self._now: dict[str, tuple[CameraState, Reason]] = {}
        # camera -> (fault opened by a backfill in the current batch, when its episode ended)
        self._past: dict[str, tuple[Fault, datetime]] = {}

    # -- queries -----------------------------------------------------------------------

    def site_offline(self, site: str) -> bool:
        """Whether the site's agent is gone right now."""
        return site in self._gone

    def still_failing(self, fault: Fault) -> str:
        """Why ``fault``'s camera is still not up, or its site still gone; "" when it is up."""
        if fault.kind in (FaultKind.CAMERA, FaultKind.FLAPPING) and fault.camera_id:
            # no change seen since a restart: the open fault's own state is the latest known
            state, reason = self._now.get(fault.camera_id, (fault.state, fault.reason))
            if fault.site in self._gone:  # nobody can tell while its site is gone
                state, reason = CameraState.UNKNOWN, Reason.SITE_OFFLINE
            if state is CameraState.UP:
                return ""
            why = f" ({reason.value})" if reason is not Reason.NONE else ""
            return f"camera {fault.camera_id} is still {state.value}{why}"
        if fault.kind is FaultKind.SITE and fault.site in self._gone:
            return f"site {fault.site} is still offline"
        return self.broker_still_down(fault)

    def site_never_online(self, site: str, province: str, district: str, now: datetime) -> list[FaultChange]:
        """Open the site fault of an enrolled site that has never connected (:mod:`.never_online`).

        It is a site fault like a lost site's: the site's first message (its birth's
        transition to up) resolves it, and it is resolved by hand only once the site is back."""
        out: list[FaultChange] = []
        if site in self._gone or ("site", site) in self._active:
            return out
        self._gone[site] = GoneSite(province, district, now)
        self._open(("site", site), kind=FaultKind.SITE, province=province, district=district, site=site,
                   camera_id=None, state=CameraState.UNKNOWN, reason=Reason.NEVER_CONNECTED, at=now, live=True,
                   out=out)  # fmt: skip
        return out

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
                continue
            ends_at: datetime | None = getattr(t, "ends_at", None)
            if ends_at is not None:
                self._backfill(t, t.camera_id, ends_at, out)
                continue
            self._settle_past(t.camera_id, out)
            self._camera(t, t.camera_id, out)
            self._recorder_step(t, t.camera_id, self._not_recording_since, out)
        for cam in list(self._past):
            self._settle_past(cam, out)
        return out

    # -- the past ------------------------------------------------------------------------

    def _backfill(self, t: TransitionLike, cam: str, ends_at: datetime, out: list[FaultChange]) -> None:
        """A change inserted into the camera's past, before a row already stored (``ends_at``).

        The camera's current run is not affected, so neither is its active fault. A failure
        found this way is a closed episode of the past: it is recorded (never alerted) and
        resolved when a backfilled recovery of the same batch says so, or else at ``ends_at``
        when the batch ends. So a replayed outage whose recovery is already stored does not
        leave a fault open forever, and one replayed after a live fault cannot close it.
        """
        pending = self._past.get(cam)
        if pending is not None:
            fault, until = pending
            if t.at < fault.opened_at or t.at >= until:
                self._settle_past(cam, out)  # not inside the same episode
            elif t.new_state in _FAILING:
                if (fault.state, fault.reason) != (t.new_state, t.reason):
                    fault = self._change(fault, FaultAction.UPDATED, t.at, False, out,
                                         state=t.new_state, reason=t.reason)  # fmt: skip
                self._past[cam] = (fault, max(until, ends_at))
                return
            else:
                del self._past[cam]
                self._resolve(fault, t.at, False, out, Resolution.AUTO, by="")
                return
        if t.new_state not in _FAILING or ("camera", cam) in self._active:
            return
        opened = self._open(
            ("camera", cam), kind=FaultKind.CAMERA, province=t.province, district=t.district, site=t.site,
            camera_id=cam, state=t.new_state, reason=t.reason, at=t.at, live=False, out=out,
        )  # fmt: skip
        self._past[cam] = (opened, ends_at)

    def _settle_past(self, cam: str, out: list[FaultChange]) -> None:
        """Resolve a backfilled episode at the stored row that followed it."""
        pending = self._past.pop(cam, None)
        if pending is None:
            return
        fault, until = pending
        if self._active.get(("camera", cam)) is fault:
            self._resolve(fault, until, False, out, Resolution.AUTO, by="")

    def _camera(self, t: TransitionLike, cam: str, out: list[FaultChange]) -> None:
        live = not t.historical
        if t.reason is Reason.SITE_OFFLINE or t.new_state in (
            CameraState.UNKNOWN,
            CameraState.MAINTENANCE,
        ):
            # Nobody knows (or planned work): neither a failure nor a recovery.
            self._now[cam] = (t.new_state, t.reason)
            self._unfail(cam)
            return
        fault = self._active.get(("camera", cam))
        if fault is not None and t.at < fault.opened_at:
            # A backfilled correction of the past (replayed after an outage, older than the
            # live fault): it fixes availability history but cannot resolve or change a fault
            # that opened after it, or repair times would come out negative.
            return
        self._now[cam] = (t.new_state, t.reason)
        flapping = self._count_flap(cam, t.at)
        if t.new_state is CameraState.UP:
            self._unfail(cam)
            self._unrecovered.discard(("camera", cam))  # a won't-fix failing again reopens now
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
                return
            if (fault.state, fault.reason) != (t.new_state, t.reason):
                fault = self._change(fault, FaultAction.UPDATED, t.at, live, out, state=t.new_state, reason=t.reason)
            if live and fault.historical and fault.alerted_at is None and fault.parent_id is None:
                # Opened from replayed history, now confirmed live (e.g. by the birth after a
                # reconnect): a current problem, so it alerts now.
                self._change(fault, FaultAction.RELEASED, t.at, True, out, historical=False)
            return
        if self._held(t.site, t.district, t.province):
            return
        kind = FaultKind.FLAPPING if flapping else FaultKind.CAMERA
        self._open_camera(cam, failing, kind, t.at, live, out)

    def _open_camera(
        self, cam: str, f: _Failing, kind: FaultKind, at: datetime, live: bool, out: list[FaultChange]
    ) -> None:
        key = ("camera", cam)
        if key in self._unrecovered and key in self._closed:
            return  # closed as won't-fix and never up since: the same failure going on
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

    def _not_recording_since(self, cam: str) -> datetime | None:
        failing = self._failing.get(cam)
        return failing.since if failing is not None and failing.reason is Reason.NOT_RECORDING else None

    # -- a site back (called by the area rules, aggregator.faults.areas) --------------

    def _release_cameras(self, site: str, at: datetime, live: bool, out: list[FaultChange]) -> None:
        """The site is back: every camera still failing NOW gets its own fault, alerted when
        the site's return is live, even if the failure was first seen in replayed history
        (it is a current problem, not a replayed one). A fault opened from history and never
        alerted is released as live for the same reason."""
        for cam in sorted(self._failing_by_site.get(site, ())):
            failing = self._failing[cam]
            if self._held(site, failing.district, failing.province):
                continue
            fault = self._active.get(("camera", cam))
            if fault is None:
                self._open_camera(cam, failing, FaultKind.CAMERA, at, live, out)
            elif live and fault.historical and fault.alerted_at is None and fault.parent_id is None:
                self._change(fault, FaultAction.RELEASED, at, True, out, historical=False)

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
        self._unrecovered &= self._closed.keys()
        for cam in [c for c in self._now if ("camera", c) not in self._active and ("camera", c) not in self._closed]:
            del self._now[cam]
        flap_window = timedelta(seconds=self.rules.flap_window_s)
        for cam in [c for c, d in self._flaps.items() if not d or now - d[-1] > flap_window]:
            if ("camera", cam) not in self._active:
                del self._flaps[cam]

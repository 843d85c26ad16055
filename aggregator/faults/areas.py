"""Site and area faults: a lost site is ONE fault, most sites of a district lost at once one
district fault, most districts of a province one province fault; the smaller faults are held
under the larger and released when it ends.

A mixin of :class:`~aggregator.faults.rules.FaultEngine`, kept out of rules.py (the camera
rules) because it is its own family of rules with its own state: which sites are gone, and
which sites and districts were ever seen, the denominators of "most". The camera rules ask it
whether a failure is held (:meth:`AreaFaults._held`); it asks them to release a returning
site's cameras (:meth:`AreaFaults._release_cameras`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.faults.book import FaultBook
from aggregator.faults.links import link_key
from aggregator.faults.model import (
    Fault,
    FaultAction,
    FaultChange,
    FaultKind,
    Resolution,
    TransitionLike,
)
from protocol import CameraState, Reason

__all__ = ["AreaFaults", "GoneSite"]


@dataclass(frozen=True, slots=True)
class GoneSite:
    """A site whose agent is gone: where it is and since when."""

    province: str
    district: str
    since: datetime


class AreaFaults(FaultBook):
    """Open, hold and close site, district and province faults."""

    _gone: dict[str, GoneSite]
    _seen_sites: dict[str, set[str]]
    _seen_districts: dict[str, set[str]]
    _sites_in_district: Callable[[str], int] | None
    _districts_in_province: Callable[[str], int] | None

    def _init_areas(
        self, sites_in_district: Callable[[str], int] | None, districts_in_province: Callable[[str], int] | None
    ) -> None:
        """Area state, after the book's (its active site faults say which sites are gone)."""
        self._gone = {}
        self._seen_sites = defaultdict(set)  # district -> sites
        self._seen_districts = defaultdict(set)  # province -> districts
        self._sites_in_district = sites_in_district
        self._districts_in_province = districts_in_province
        for fault in self._active.values():
            if fault.kind is FaultKind.SITE and fault.site and fault.district:
                self._gone[fault.site] = GoneSite(fault.province, fault.district, fault.opened_at)

    def _held(self, site: str, district: str, province: str) -> bool:
        """Whether a camera failure here waits under its site's or area's fault (no fault of its own)."""
        return (
            site in self._gone
            or ("district", district) in self._active
            or ("province", province) in self._active
            or link_key(province) in self._active
        )

    # -- sites and areas ---------------------------------------------------------------

    def _area_parent(self, district: str, province: str) -> Fault | None:
        return (
            self._active.get(link_key(province))
            or self._active.get(("province", province))
            or self._active.get(("district", district))
        )

    def _site_lost(self, t: TransitionLike, out: list[FaultChange]) -> None:
        if t.site in self._gone:
            return
        self._gone[t.site] = GoneSite(t.province, t.district, t.at)
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

    @abstractmethod
    def _release_cameras(self, site: str, at: datetime, live: bool, out: list[FaultChange]) -> None:
        """The site is back: its cameras still failing get their own faults (the camera rules
        implement it: :meth:`aggregator.faults.rules.FaultEngine._release_cameras`)."""

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

    def _after_close(self, done: Fault, at: datetime, live: bool, out: list[FaultChange]) -> None:
        if done.id in self._children:
            self._release_children(done, at, live, out)

    def _release_children(self, parent: Fault, at: datetime, live: bool, out: list[FaultChange]) -> None:
        for key in sorted(self._children.pop(parent.id, ())):
            child = self._active.get(key)
            if child is None or child.parent_id != parent.id:
                continue
            child = self._change(child, FaultAction.RELEASED, at, live, out, parent_id=None)
            if child.kind is FaultKind.DISTRICT and child.district:
                self._maybe_clear_area(child.district, child.province, at, live, out)

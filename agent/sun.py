"""Where the sun is: sunrise, sunset and darkness at a site (NOAA's solar calculator, pure).

The night checks need to know whether a camera looks at a dark street now. This is the
algorithm of NOAA's Solar Calculator spreadsheet (Meeus, *Astronomical Algorithms*): good to
about a minute between latitudes +-72 degrees, which is far finer than dusk itself. No
network, no clock: every function takes the instant it is asked about.

* ``sunrise``/``sunset``: the sun's upper limb on the horizon (zenith 90.833 degrees,
  refraction included), as published almanacs give them.
* ``is_dark``: the sun more than ``DARK_ELEVATION`` below the horizon (end of civil
  twilight): cameras have switched to night mode (IR on, IR-cut filter out) by then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["DARK_ELEVATION", "SunTimes", "elevation", "is_dark", "next_darkness", "sun_times"]

# Civil twilight ends at -6 degrees: street lights are on and day/night cameras have switched.
DARK_ELEVATION = -6.0
_RISE_ZENITH = 90.833
_J2000 = 2451545.0


def _julian_century(at: datetime) -> float:
    jd = at.astimezone(UTC).timestamp() / 86400.0 + 2440587.5
    return (jd - _J2000) / 36525.0


def _declination_and_eot(t: float) -> tuple[float, float]:
    """Sun's declination (degrees) and the equation of time (minutes) at century ``t``."""
    mean_long = (280.46646 + t * (36000.76983 + t * 0.0003032)) % 360
    mean_anom = 357.52911 + t * (35999.05029 - 0.0001537 * t)
    ecc = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    m = math.radians(mean_anom)
    center = (math.sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t))
              + math.sin(2 * m) * (0.019993 - 0.000101 * t) + math.sin(3 * m) * 0.000289)
    true_long = mean_long + center
    omega = math.radians(125.04 - 1934.136 * t)
    app_long = true_long - 0.00569 - 0.00478 * math.sin(omega)
    mean_obliq = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60
    obliq = math.radians(mean_obliq + 0.00256 * math.cos(omega))
    decl = math.degrees(math.asin(math.sin(obliq) * math.sin(math.radians(app_long))))
    y = math.tan(obliq / 2) ** 2
    l0 = math.radians(mean_long)
    eot = 4 * math.degrees(
        y * math.sin(2 * l0) - 2 * ecc * math.sin(m) + 4 * ecc * y * math.sin(m) * math.cos(2 * l0)
        - 0.5 * y * y * math.sin(4 * l0) - 1.25 * ecc * ecc * math.sin(2 * m))
    return decl, eot


def elevation(at: datetime, lat: float, lon: float) -> float:
    """The sun's elevation above the horizon (degrees, no refraction) at ``at``, seen from lat/lon."""
    decl, eot = _declination_and_eot(_julian_century(at))
    utc = at.astimezone(UTC)
    minutes = utc.hour * 60 + utc.minute + utc.second / 60 + utc.microsecond / 6e7
    true_solar = (minutes + eot + 4 * lon) % 1440
    hour_angle = true_solar / 4 - 180
    phi, d = math.radians(lat), math.radians(decl)
    cos_zenith = (math.sin(phi) * math.sin(d)
                  + math.cos(phi) * math.cos(d) * math.cos(math.radians(hour_angle)))
    return 90 - math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))


def is_dark(at: datetime, lat: float, lon: float) -> bool:
    """True when the sun is more than 6 degrees below the horizon (after civil twilight)."""
    return elevation(at, lat, lon) < DARK_ELEVATION


@dataclass(frozen=True, slots=True)
class SunTimes:
    """Sunrise and sunset (UTC) of one local day; None in polar day or night."""

    sunrise: datetime | None
    sunset: datetime | None


def _event(day: date, lat: float, lon: float, zenith: float, rising: bool) -> datetime | None:
    # Two passes: solar noon first, then the event computed with the sun as it is then.
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=lon / 15)
    guess = midnight + timedelta(hours=12)
    for _ in range(2):
        decl, eot = _declination_and_eot(_julian_century(guess))
        phi, d = math.radians(lat), math.radians(decl)
        cos_ha = (math.cos(math.radians(zenith)) / (math.cos(phi) * math.cos(d))
                  - math.tan(phi) * math.tan(d))
        if not -1.0 <= cos_ha <= 1.0:
            return None
        ha = math.degrees(math.acos(cos_ha))
        noon_min = 720 - 4 * lon - eot  # minutes after 00:00 UTC of ``day``
        event_min = noon_min - 4 * ha if rising else noon_min + 4 * ha
        guess = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=event_min)
    return guess


def sun_times(day: date, lat: float, lon: float) -> SunTimes:
    """Sunrise and sunset of ``day`` (the site's local calendar day) at lat/lon, in UTC."""
    return SunTimes(_event(day, lat, lon, _RISE_ZENITH, True), _event(day, lat, lon, _RISE_ZENITH, False))


def next_darkness(after: datetime, lat: float, lon: float, *, step_s: float = 600.0,
                  horizon_s: float = 2 * 86400.0) -> datetime | None:
    """The first instant after ``after`` (to ``step_s``) when it is dark; None within ``horizon_s``."""
    at = after
    end = after + timedelta(seconds=horizon_s)
    while at <= end:
        if is_dark(at, lat, lon):
            return at
        at += timedelta(seconds=step_s)
    return None

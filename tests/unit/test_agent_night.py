"""Night vision (issue 16): sunrise/sunset against published Thai almanac times, darkness,
the night verdict on generated frames, and the check forced into darkness."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pytest

from agent.config import NightThresholds
from agent.night import NightWatch, night_verdict, structure
from agent.sun import elevation, is_dark, next_darkness, sun_times
from protocol import Reason

Gray = npt.NDArray[np.uint8]
ICT = timedelta(hours=7)
T = NightThresholds()
BANGKOK = (13.75, 100.5)
CHIANG_MAI = (18 + 47 / 60, 98 + 59 / 60)  # the Thai Astronomical Society's city point


def local(at: datetime | None) -> str:
    assert at is not None
    return (at + ICT + timedelta(seconds=30)).strftime("%H:%M")  # almanacs round to the minute


# Published times (Thailand time, UTC+7), each with its source:
# NARIT via Bangkok Post 21 Jun 2023 ("rose at 5.51am and would set at 6.47pm");
# NARIT via VNA, Bangkok on 22 December: 6.37 a.m. / 5.56 p.m.;
# thaiastro.nectec.or.th twilight tables: Chiang Rai 2013 (19 54 N, 99 50 E) 1 Jan and 2 Feb,
# Sukhothai 2022 (17 00.4 N, 99 49.4 E) 1 Jan; sun/moon table Samut Sakhon 2009 (13 32 N, 100 17 E).
ALMANAC = [
    (date(2023, 6, 21), BANGKOK, "05:51", "18:47"),
    (date(2025, 12, 22), BANGKOK, "06:37", "17:56"),
    (date(2013, 1, 1), (19.9, 99 + 50 / 60), "06:56", "17:53"),
    (date(2013, 2, 2), (19.9, 99 + 50 / 60), "06:56", "18:13"),
    (date(2022, 1, 1), (17 + 0.4 / 60, 99 + 49.4 / 60), "06:50", "17:58"),
    (date(2009, 1, 1), (13 + 32 / 60, 100 + 17 / 60), "06:42", "18:03"),
]


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@pytest.mark.parametrize(("day", "where", "rise", "set_"), ALMANAC)
def test_sunrise_and_sunset_match_the_almanac_within_a_minute(
        day: date, where: tuple[float, float], rise: str, set_: str) -> None:
    times = sun_times(day, *where)
    assert abs(minutes(local(times.sunrise)) - minutes(rise)) <= 1
    assert abs(minutes(local(times.sunset)) - minutes(set_)) <= 1


def test_leap_day_and_new_year_eve_are_continuous_in_chiang_mai() -> None:
    # 29 Feb exists in 2024: its times lie between 28 Feb and 1 Mar; 31 Dec runs into 1 Jan.
    feb28, feb29, mar1 = (sun_times(d, *CHIANG_MAI) for d in
                          (date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)))
    assert feb28.sunrise and feb29.sunrise and mar1.sunrise and feb29.sunset
    assert feb28.sunrise.time() > feb29.sunrise.time() > mar1.sunrise.time()  # mornings come earlier
    assert local(feb29.sunrise) == "06:44" and local(feb29.sunset) == "18:30"
    dec31, jan1 = sun_times(date(2024, 12, 31), *CHIANG_MAI), sun_times(date(2025, 1, 1), *CHIANG_MAI)
    assert dec31.sunrise and jan1.sunrise and dec31.sunset and jan1.sunset
    assert local(dec31.sunrise) == "06:57" and local(dec31.sunset) == "17:58"
    step = (jan1.sunrise - dec31.sunrise).total_seconds() - 86400
    assert 0 < step < 60  # a few seconds later each day, no jump at the year's end


def test_darkness_follows_civil_twilight() -> None:
    noon = datetime(2024, 12, 31, 5, 0, tzinfo=UTC)  # 12:00 in Thailand
    assert elevation(noon, *BANGKOK) > 45 and not is_dark(noon, *BANGKOK)
    sunset = sun_times(date(2024, 12, 31), *BANGKOK).sunset
    assert sunset is not None
    assert not is_dark(sunset + timedelta(minutes=5), *BANGKOK)  # twilight: still light
    assert is_dark(sunset + timedelta(minutes=40), *BANGKOK)
    start = next_darkness(noon, *BANGKOK, step_s=60)
    assert start is not None and timedelta(minutes=20) < start - sunset < timedelta(minutes=30)
    # Same instant, other side of the world: noon in Bangkok is night in Mexico.
    assert is_dark(noon, 19.4, -99.1)


def picture(mean: float, noise: float, shapes: bool, seed: int = 1) -> Gray:
    rng = np.random.default_rng(seed)
    img = np.full((240, 320), mean, np.float32)
    if shapes:
        img[40:120, 30:150] += 60
        img[150:220, 200:300] -= 40
    return np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)


def test_night_verdict_names_black_and_noise_and_passes_a_working_ir_picture() -> None:
    assert night_verdict(picture(2, 1, False), T) is not None
    assert night_verdict(picture(2, 1, False), T)[0] is Reason.NIGHT_BLACK  # type: ignore[index]
    noisy = night_verdict(picture(55, 15, False), T)
    assert noisy is not None and noisy[0] is Reason.NIGHT_NO_IR
    assert structure(picture(70, 15, True)) > 20
    assert night_verdict(picture(70, 15, True), T) is None


DAY = datetime(2024, 12, 31, 5, 0, tzinfo=UTC)  # noon in Bangkok
NIGHT = datetime(2024, 12, 31, 15, 0, tzinfo=UTC)  # 22:00 in Bangkok


def test_night_reason_only_for_a_camera_seen_fine_by_day() -> None:
    watch = NightWatch(*BANGKOK, T)
    black = picture(1, 0.5, False)
    # Never seen by day (agent started at night, no reference): the day checks' verdict stands;
    # noise those checks pass is named for the night, saying so.
    assert watch.review("c1", NIGHT, black, Reason.NO_VIDEO) is None
    for day_verdict in (Reason.NONE, Reason.OBSTRUCTED):  # noise sits at the covered threshold
        unknown = watch.review("c1", NIGHT, picture(55, 15, False), day_verdict)
        assert unknown is not None and unknown[0] is Reason.NIGHT_NO_IR and "not yet seen by day" in unknown[1]
    # Black by day is a day fault, not a night one.
    assert watch.review("c1", DAY, black, Reason.NO_VIDEO) is None
    assert watch.review("c1", DAY, picture(120, 5, True), Reason.NONE) is None
    verdict = watch.review("c1", NIGHT, black, Reason.NO_VIDEO)
    assert verdict is not None and verdict[0] is Reason.NIGHT_BLACK and "fine by day" in verdict[1]
    # A reference taken from a good picture counts as fine by day (survives agent restarts).
    assert NightWatch(*BANGKOK, T).review("c2", NIGHT, black, Reason.NO_VIDEO, seen_fine_before=True)
    # No coordinates: no night checks at all.
    assert NightWatch(None, None, T).review("c1", NIGHT, black, Reason.NO_VIDEO) is None
    # A turned camera whose IR works shows a scene: it keeps its own reason.
    assert watch.review("c1", NIGHT, picture(70, 15, True), Reason.SCENE_CHANGED) is None


def test_a_long_check_interval_is_shortened_into_the_night() -> None:
    watch = NightWatch(*BANGKOK, T)
    before_dusk = datetime(2024, 12, 31, 10, 30, tzinfo=UTC)  # 17:30, sunset 17:57
    # An 18 h wait would skip the whole night: the next check lands 20 min into darkness.
    delay = watch.delay_s("c1", before_dusk, 18 * 3600.0)
    landed = before_dusk + timedelta(seconds=delay)
    assert is_dark(landed, *BANGKOK) and delay < 2 * 3600
    # A wait that ends in darkness anyway, or one starting at night, is left alone.
    assert watch.delay_s("c1", before_dusk, 3 * 3600.0) == 3 * 3600.0
    assert watch.delay_s("c1", NIGHT, 12 * 3600.0) == 12 * 3600.0
    assert watch.delay_s("c1", DAY, 60.0) == 60.0

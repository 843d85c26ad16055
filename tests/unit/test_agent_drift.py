"""Stream drift (issue 16): measured frame rate, bit rate and size against the ONVIF profile."""

from __future__ import annotations

from agent.config import DriftThresholds
from agent.drift import DriftSample, DriftWatch, Profile
from protocol import Reason

PROFILE = Profile(320, 240, 20.0, 1000)


def test_half_the_configured_frame_rate_is_low_fps_only_once_the_window_is_full() -> None:
    watch = DriftWatch(DriftThresholds(window=3))
    half = DriftSample(320, 240, 10.0)
    assert watch.observe("c", half, PROFILE) is None
    assert watch.observe("c", half, PROFILE) is None
    verdict = watch.observe("c", half, PROFILE)
    assert verdict is not None and verdict[0] is Reason.LOW_FPS and "configured 20" in verdict[1]


def test_one_blip_is_averaged_away() -> None:
    watch = DriftWatch(DriftThresholds(window=3))
    for fps in (20.0, 19.5, 6.0, 20.0, 20.0):  # one slow burst among good ones
        assert watch.observe("c", DriftSample(320, 240, fps), PROFILE) is None


def test_resolution_must_differ_in_every_check_of_the_window() -> None:
    watch = DriftWatch(DriftThresholds(window=2))
    assert watch.observe("c", DriftSample(640, 480, 20.0), PROFILE) is None
    assert watch.observe("c", DriftSample(320, 240, 20.0), PROFILE) is None
    assert watch.observe("c", DriftSample(640, 480, 20.0), PROFILE) is None
    verdict = watch.observe("c", DriftSample(640, 480, 20.0), PROFILE)
    assert verdict is not None and verdict[0] is Reason.RESOLUTION_CHANGED


def test_low_bitrate_from_sampled_checks_only() -> None:
    watch = DriftWatch(DriftThresholds(window=2))
    assert watch.observe("c", DriftSample(320, 240, 20.0, 200.0), PROFILE) is None
    assert watch.observe("c", DriftSample(320, 240, 20.0, None), PROFILE) is None  # not sampled
    verdict = watch.observe("c", DriftSample(320, 240, 20.0, 250.0), PROFILE)
    assert verdict is not None and verdict[0] is Reason.LOW_BITRATE
    assert watch.observe("d", DriftSample(320, 240, 20.0, 900.0), PROFILE) is None
    assert watch.observe("d", DriftSample(320, 240, 20.0, 400.0), PROFILE) is None  # mean 650 of 1000


def test_no_profile_or_disabled_never_judges() -> None:
    watch = DriftWatch(DriftThresholds(window=1))
    assert watch.observe("c", DriftSample(1, 1, 0.5, 1.0), None) is None
    off = DriftWatch(DriftThresholds(window=1, enabled=False))
    assert off.observe("c", DriftSample(1, 1, 0.5, 1.0), PROFILE) is None


def test_a_sub_stream_is_not_judged_against_the_main_profile() -> None:
    from agent.config import CameraConfig, ChecksConfig
    from agent.probes import Prober
    from protocol import CameraInventory

    main = CameraInventory(stream_uri="rtsp://10.0.0.14:554/Streaming/Channels/101", width=1920, height=1080,
                           fps=25.0, bitrate_kbps=4096)
    prober = Prober(ChecksConfig(), onvif=None, profiles={"c": main})
    same = CameraConfig(id="c", address="10.0.0.14", stream_uri="rtsp://10.0.0.14/Streaming/Channels/101")
    sub = CameraConfig(id="c", address="10.0.0.14", stream_uri="rtsp://10.0.0.14/Streaming/Channels/102")
    assert prober._profile(same) == Profile(1920, 1080, 25.0, 4096)
    assert prober._profile(sub) is None
    assert prober._sample_packets(sub) == 0 and prober._sample_packets(same) == 10

"""Benchmark the ONVIF client against the ipycam simulator, with onvif-zeep as the baseline.

Why: the design card named onvif-zeep (last release 2018, blocking, requests-based); the agent
uses onvif-zeep-async through agent/onvif_client.py. This prints, for both, measured in the
same run against the same simulated cameras (each read = clock, device information, MAC,
media address, profiles, stream and snapshot URI, WS-UsernameToken digest auth):

* import time of the library, and RSS after import
* first read of one device (includes WSDL parsing), then the median of warm reads
* all K devices read at once (asyncio tasks vs a pool of 8 threads): wall time, CPU s/read
* peak RSS of the worker process

The baseline is measured twice: building a client per read (what a per-minute check does
without a cache) and keeping one client per device (no WSDL re-parse, memory per device).

Run: .venv/bin/python bench/onvif_bench.py [--cameras 8] [--reads 20]
     [--baseline-venv /tmp/onvif-zeep-venv]   (created with pip install onvif-zeep==0.2.12 if absent)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
USER, PASSWORD = "admin", "bench-pass"


def _worker(lib: str, targets: list[tuple[str, int]], reads: int) -> None:  # runs in a subprocess
    import resource

    def rss_mb() -> float:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    t0 = time.perf_counter()
    if lib == "async":
        import asyncio

        from agent.onvif_client import check_alive, read_device

        alive = []

        def read_one(host: str, port: int) -> None:
            asyncio.run(read_device(host, port, USER, PASSWORD))

        def read_all() -> None:
            async def go() -> None:
                await asyncio.gather(*(read_device(h, p, USER, PASSWORD) for h, p in targets))
            asyncio.run(go())
    else:
        from concurrent.futures import ThreadPoolExecutor

        import onvif
        from onvif import ONVIFCamera

        wsdl = os.path.join(os.path.dirname(os.path.dirname(onvif.__file__)), "wsdl")

        kept: dict[tuple[str, int], ONVIFCamera] = {}

        def read_one(host: str, port: int) -> None:
            # "sync_reuse" keeps one client per device (no WSDL re-parse), "sync" builds one per read.
            cam = kept.get((host, port)) if lib == "sync_reuse" else None
            if cam is None:
                cam = ONVIFCamera(host, port, USER, PASSWORD, wsdl, adjust_time=True)
                if lib == "sync_reuse":
                    kept[(host, port)] = cam
            dm = cam.devicemgmt
            dm.GetDeviceInformation()
            dm.GetNetworkInterfaces()
            media = cam.create_media_service()
            for profile in media.GetProfiles()[:1]:
                media.GetStreamUri({"StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                                    "ProfileToken": profile.token})
                media.GetSnapshotUri({"ProfileToken": profile.token})

        def read_all() -> None:
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda t: read_one(*t), targets))
    t_import = time.perf_counter() - t0
    rss_import = rss_mb()
    t1 = time.perf_counter()
    read_one(*targets[0])
    first = time.perf_counter() - t1
    warm = []
    for _ in range(reads):
        t = time.perf_counter()
        read_one(*targets[0])
        warm.append(time.perf_counter() - t)
    extra = {}
    if lib == "async":
        for _ in range(reads):
            t = time.perf_counter()
            asyncio.run(check_alive(*targets[0], USER, PASSWORD))
            alive.append(time.perf_counter() - t)
        extra["alive_median_s"] = statistics.median(alive)
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    t2 = time.perf_counter()
    read_all()
    wall_all = time.perf_counter() - t2
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    print(json.dumps({
        "import_s": t_import, "rss_after_import_mb": rss_import, "first_read_s": first,
        "warm_median_s": statistics.median(warm), "all_wall_s": wall_all,
        "cpu_per_read_s": cpu / len(targets), "peak_rss_mb": usage1.ru_maxrss / 1024, **extra,
    }))


def _ensure_baseline(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating the baseline venv {venv} (onvif-zeep 0.2.12 from PyPI) ...", flush=True)
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "onvif-zeep==0.2.12"],
                       check=True, timeout=600)
    return python


def _run(python: str, lib: str, targets: list[tuple[str, int]], reads: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(REPO) if lib == "async" else "")
    out = subprocess.run(
        [python, __file__, "--worker", lib, "--reads", str(reads), "--targets", json.dumps(targets)],
        capture_output=True, text=True, env=env, timeout=600, check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--baseline-venv", type=Path, default=Path("/tmp/onvif-zeep-venv"))
    parser.add_argument("--worker", default=None)
    parser.add_argument("--targets", default="[]")
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, [tuple(t) for t in json.loads(args.targets)], args.reads)
        return
    sys.path.insert(0, str(REPO))
    from tests.rig.onvif_sim import SimOptions, loopback_block, start_camera

    hosts = loopback_block(args.cameras)
    cams = [start_camera(SimOptions(host=h, serial=f"B{i}", username=USER, password=PASSWORD))
            for i, h in enumerate(hosts)]
    try:
        targets = [(c.host, c.port) for c in cams]
        ours = _run(sys.executable, "async", targets, args.reads)
        baseline_python = _ensure_baseline(args.baseline_venv)
        base = _run(str(baseline_python), "sync", targets, args.reads)
        reuse = _run(str(baseline_python), "sync_reuse", targets, args.reads)
    finally:
        for cam in cams:
            cam.stop()
    print(f"\nONVIF client, {args.cameras} simulated cameras (ipycam), {args.reads} warm reads each lib")
    print(f"{'figure':<24}{'onvif-zeep-async':>18}{'onvif-zeep (base)':>19}{'ratio':>8}"
          f"{'base, client kept':>19}{'ratio':>8}")
    for key, label in [("import_s", "import (s)"), ("rss_after_import_mb", "RSS after import (MB)"),
                       ("first_read_s", "first read (s)"), ("warm_median_s", "warm read median (s)"),
                       ("all_wall_s", f"all {args.cameras} at once (s)"),
                       ("cpu_per_read_s", "CPU per read (s)"), ("peak_rss_mb", "peak RSS (MB)")]:
        b, r = base[key], reuse[key]
        print(f"{label:<24}{ours[key]:>18.3f}{b:>19.3f}{ours[key] / b:>8.2f}"
              f"{r:>19.3f}{ours[key] / r:>8.2f}")
    print(f"check_alive (TCP connect + GetSystemDateAndTime) median: {ours['alive_median_s']:.4f} s")


if __name__ == "__main__":
    main()

"""CPU percent over a real interval: never the few milliseconds of the tool's own run."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.drivers.linux.usage import MIN_INTERVAL_S, UsageSampler


class Proc:
    """/proc/stat whose counters advance with a fake clock: `busy` of every 100 jiffies,
    except that the tool itself burns 100 % while it starts."""

    def __init__(self) -> None:
        self.now = 0.0
        self.busy_share = 0.2
        self.busy = self.total = 0

    def sleep(self, seconds: float) -> None:
        ticks = round(seconds * 100)
        self.now += seconds
        self.busy += round(ticks * self.busy_share)
        self.total += ticks

    def run_briefly(self) -> None:
        self.now += 0.01
        self.busy += 1
        self.total += 1

    def read(self, path: str) -> Any:
        if path == "/proc/stat":
            idle = self.total - self.busy
            return f"cpu  {self.busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 {self.busy} 0 0 {idle}\n"
        return None


def test_a_one_shot_read_waits_out_a_real_interval() -> None:
    proc = Proc()
    sampler = UsageSampler(proc, clock=lambda: proc.now, sleep=proc.sleep)  # type: ignore[arg-type]
    proc.run_briefly()  # what happens between opening the backend and observing
    assert sampler.cpu_percent() == pytest.approx(20.0, abs=3)  # not the 100 % of the run
    assert proc.now >= MIN_INTERVAL_S


def test_warm_reads_keep_the_last_full_interval_and_never_wait() -> None:
    proc = Proc()
    sampler = UsageSampler(proc, clock=lambda: proc.now, sleep=proc.sleep)  # type: ignore[arg-type]
    proc.sleep(2.0)
    assert sampler.cpu_percent() == 20.0
    proc.busy_share = 0.6
    before = proc.now
    proc.run_briefly()
    assert sampler.cpu_percent() == 20.0  # too soon: the last full interval's share
    assert proc.now - before < MIN_INTERVAL_S  # and no wait
    proc.sleep(1.0)
    assert sampler.cpu_percent() == pytest.approx(60.0, abs=1)

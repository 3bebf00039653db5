"""Fixtures that run the simulator over real HTTP.

``sim``: an in-process simulator (own thread, own port, own loopback /24) with auth off.
``sim_factory``: in-process simulators with any config. ``sim_process``: the real CLI as a
subprocess (for restart and kill tests).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.engine import PROJECT_ROOT
from kexpose_sim.config import SimConfig
from kexpose_sim.faults import FaultConfig
from kexpose_sim.server import Simulator


@dataclass
class RunningSim:
    sim: Simulator
    url: str

    @property
    def marathon(self) -> str:
        return f"{self.url}/service/marathon"

    @property
    def edgelb(self) -> str:
        return f"{self.url}/service/{self.sim.state.config.edgelb_service}"

    def set_faults(self, **faults) -> None:
        requests.put(f"{self.url}/_sim/faults", json=faults, timeout=5).raise_for_status()

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_sim/stats", timeout=5).json()


@pytest.fixture
def sim_factory(tmp_path):
    started: list[Simulator] = []

    def start(faults: FaultConfig | None = None, state_dir: Path | None = None, dataplane: bool = True,
              **config) -> RunningSim:
        cfg = SimConfig(state_dir=state_dir or tmp_path / f"sim{len(started)}", **config)
        sim = Simulator(cfg, faults, dataplane=dataplane).start()
        started.append(sim)
        return RunningSim(sim, sim.base_url)

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(sim_factory) -> RunningSim:
    return sim_factory(auth="none")


@dataclass
class SimProcess:
    proc: subprocess.Popen
    url: str

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def sim_process(tmp_path):
    procs: list[subprocess.Popen] = []

    def start(*args: str, state_dir: Path | None = None) -> SimProcess:
        cmd = [sys.executable, "-m", "kexpose_sim", "serve", "--state-dir", str(state_dir or tmp_path / "simstate"), *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT,
                                env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
        procs.append(proc)
        url = proc.stdout.readline().strip()
        assert url.startswith("http://"), f"simulator did not print its URL (exit {proc.poll()})"
        return SimProcess(proc, url)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)

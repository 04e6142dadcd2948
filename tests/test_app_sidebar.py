"""The app's shared sidebar: device, queue state, and a worker for jobs left waiting."""

from __future__ import annotations

import os
import signal
import time

from streamlit.testing.v1 import AppTest

from seglab.jobs import JobQueue
from seglab.settings.presets import preset
from tests.conftest import ROOT


def test_app_restart_with_waiting_jobs_starts_a_worker(seglab_home) -> None:
    with JobQueue(seglab_home) as queue:
        job_id = queue.enqueue(preset("smoke"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "Compute device" in sidebar and "1 queued" in sidebar
    try:
        deadline = time.monotonic() + 120
        with JobQueue(seglab_home) as queue:
            while queue.job(job_id).status not in ("done", "failed"):
                assert time.monotonic() < deadline, "the waiting job was never trained"
                time.sleep(0.5)
            assert queue.job(job_id).status == "done"
    finally:
        with JobQueue(seglab_home) as queue:
            for worker in queue.live_workers():
                os.kill(int(worker["pid"]), signal.SIGTERM)

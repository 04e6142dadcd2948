"""What the Train page (and its Tune tab) queues when left at its defaults: the same configs as
the command line (issue 19). An independent oracle: the CLI's own parser builds the other side."""

from __future__ import annotations

import seglab.jobs
from seglab.jobs import JobQueue
from tests.page_support import page_runner

run_page = page_runner("train", timeout=90)


def _start(at) -> None:
    [b for b in at.button if b.label == "Start training"][0].click().run()
    assert not at.exception, [e.value for e in at.exception]


def test_train_page_queues_an_unfrozen_encoder_by_default(seglab_home, monkeypatch):
    """Issue 19: the hidden freeze input started at -1 (the whole run) and froze every encoder."""
    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: False)
    at = run_page()
    _start(at)
    with JobQueue(seglab_home) as queue:
        jobs = queue.jobs()
    assert jobs
    assert {j.config.freeze_encoder_epochs for j in jobs} == {0}


def test_tune_tab_queues_an_unfrozen_encoder_by_default(seglab_home, monkeypatch):
    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: False)
    at = run_page()
    at.button(key="tu_start").click().run()
    assert not at.exception
    with JobQueue(seglab_home) as queue:
        jobs = queue.jobs()
    assert jobs
    assert {j.config.freeze_encoder_epochs for j in jobs} == {0}

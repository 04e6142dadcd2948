"""Background training jobs: a persistent SQLite queue (``queue``) and the worker (``worker``).

Public API (what the app, the CLI and the tests call)::

    from seglab.jobs import JobQueue, queue_summary, run_worker, ensure_worker

    q = JobQueue()                                  # $SEGLAB_HOME/jobs.sqlite
    job_id = q.enqueue(config)                      # one run
    group = q.enqueue_study(Study(base, {"arch": [...], "loss": [...]}, name="my study"))
    q.jobs(group=group); q.job(job_id).progress; q.groups(); q.cancel(job_id); q.resume(job_id)
    ensure_worker()                                 # start a detached worker if none is alive
    queue_summary()                                 # {"queued": 2, "running": 1, ...} for the sidebar
"""

from seglab.jobs.queue import (
    FINAL_STATES,
    STATES,
    GroupSummary,
    Job,
    JobQueue,
    headline_iou,
    queue_summary,
)
from seglab.jobs.worker import (
    JobReporter,
    WorkerBusyError,
    ensure_worker,
    run_worker,
    worker_alive,
)

__all__ = [
    "FINAL_STATES",
    "STATES",
    "GroupSummary",
    "Job",
    "JobQueue",
    "JobReporter",
    "WorkerBusyError",
    "ensure_worker",
    "headline_iou",
    "queue_summary",
    "run_worker",
    "worker_alive",
]

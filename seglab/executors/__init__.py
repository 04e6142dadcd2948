"""Other ways to run a study than the job queue: ``ray_executor`` (one Ray task per run).

The queue and its workers (`seglab.jobs`) stay the default; an executor here runs the same
configurations through the same `seglab.jobs.worker.run_config`, so its runs land in the
experiment store exactly like local ones.
"""

"""Write a study's comparison to a folder: charts (PNG + SVG), CSV tables and a summary.

``write_report(out_dir, group=...)`` (or ``run_ids=...``) produces:

* ``iou_by_arch.png/.svg``   validation IoU vs epoch, a panel per architecture, coloured by loss;
* ``iou_by_loss.png/.svg``   the same, a panel per loss, coloured by architecture;
* ``test_iou_heatmap.png/.svg``  architecture × loss, seed-averaged test IoU, best cell marked;
* ``ranking.png/.svg``       models ranked by test IoU (± std over seeds);
* ``runs.csv`` (one row per run), ``summary.csv`` (per model, mean ± std over seeds),
  ``arch_loss_test_iou.csv`` (the heatmap as a table), ``history.csv`` (per-epoch metrics);
* ``README.md`` naming the best model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from seglab.errors import SegLabError


@dataclass
class Report:
    """What ``write_report`` wrote."""

    out_dir: Path
    n_runs: int
    files: list[Path] = field(default_factory=list)
    best: Any = None  # seglab.results_table.BestModel or None
    best_sentence: str = ""


def select_records(
    home: str | os.PathLike[str] | None = None,
    *,
    group: str | None = None,
    run_ids: list[str] | None = None,
) -> list[Any]:
    """Run records of a study (``group``), of explicit ``run_ids``, or every run in the store."""
    from seglab.store import RunStore

    store = RunStore(home)
    records = store.list_runs()
    if run_ids:
        by_id = {r.id: r for r in records}
        missing = [i for i in run_ids if i not in by_id]
        if missing:
            raise SegLabError(f"no run {', '.join(missing)} in {store.home}.")
        return [by_id[i] for i in run_ids]
    if group is not None:
        ids = _group_run_ids(store.home, group)
        chosen = [r for r in records if r.group == group or r.id in ids]
        if not chosen:
            raise SegLabError(f"study {group!r} has no runs in {store.home}.")
        return chosen
    return records


def _group_run_ids(home: Path, group: str) -> set[str]:
    from seglab.jobs.queue import DB_NAME, JobQueue

    if not (home / DB_NAME).exists():
        return set()
    with JobQueue(home) as q:
        return {j.run_id for j in q.jobs(group=group) if j.run_id}


def write_report(
    out_dir: str | os.PathLike[str],
    *,
    home: str | os.PathLike[str] | None = None,
    group: str | None = None,
    run_ids: list[str] | None = None,
    metric: str = "test_iou",
    formats: tuple[str, ...] = ("png", "svg"),
) -> Report:
    """Write the comparison charts and tables of the chosen runs into ``out_dir``."""
    from seglab import charts
    from seglab.results_table import (
        aggregate_seeds,
        arch_loss_grid,
        best_model,
        display_table,
        finished,
        histories_frame,
        runs_frame,
    )
    from seglab.store import RunStore

    records = select_records(home, group=group, run_ids=run_ids)
    if not records:
        raise SegLabError("there are no runs to report on yet; train some first.")
    store = RunStore(home)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = Report(out_dir=out, n_runs=len(records))

    runs = runs_frame(records)
    history = histories_frame({r.id: store.history(r.id) for r in records}, runs)
    summary = aggregate_seeds(runs, metric)
    grid = arch_loss_grid(runs, metric)

    def table(frame: pd.DataFrame, name: str) -> None:
        path = out / name
        frame.to_csv(path, index=False)
        report.files.append(path)

    table(display_table(runs), "runs.csv")
    table(summary.assign(run_ids=summary["run_ids"].map(" ".join)), "summary.csv")
    if not grid.empty:
        pivot = grid.pivot_table(index="arch", columns="loss_label", values="mean", aggfunc="first")
        pivot.to_csv(out / "arch_loss_test_iou.csv")
        report.files.append(out / "arch_loss_test_iou.csv")
    table(history.drop(columns=["run"]), "history.csv")

    has_curves = not history.empty and (history["metric"] == "val_iou").any()
    if has_curves:
        report.files += charts.save_chart(charts.iou_curves_by_arch(history), out / "iou_by_arch", formats)
        report.files += charts.save_chart(charts.iou_curves_by_loss(history), out / "iou_by_loss", formats)
    if not finished(runs, metric).empty:
        report.files += charts.save_chart(
            charts.test_iou_heatmap(grid, metric), out / "test_iou_heatmap", formats
        )
        report.files += charts.save_chart(charts.ranked_bar(runs, metric), out / "ranking", formats)

    report.best = best_model(runs, metric)
    report.best_sentence = (
        report.best.sentence()
        if report.best is not None
        else "No run has finished yet, so there is no best model."
    )
    readme = out / "README.md"
    readme.write_text(_readme(report, summary, group, metric), encoding="utf-8")
    report.files.append(readme)
    return report


def _readme(report: Report, summary: pd.DataFrame, group: str | None, metric: str) -> str:
    lines = [f"# SegLab report{f' — study {group}' if group else ''}", ""]
    lines += [f"{report.n_runs} run(s).", "", f"**{report.best_sentence}**", ""]
    if not summary.empty:
        lines += [f"| rank | model | {metric} mean | std | seeds |", "|---:|---|---:|---:|---:|"]
        for rank, row in enumerate(summary.itertuples(index=False), start=1):
            lines.append(f"| {rank} | {row.model} | {row.mean:.4f} | {row.std:.4f} | {row.n_seeds} |")
        lines.append("")
    lines += ["Files:", ""] + [f"- `{p.name}`" for p in report.files if p.name != "README.md"]
    return "\n".join(lines) + "\n"

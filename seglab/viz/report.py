"""Write a study's comparison to a folder: charts (PNG + SVG), CSV tables and a summary.

The runs are first split into like-with-like comparisons (`seglab.analysis.compare`): only runs whose
settings agree except the compared axes are compared. The charts show the *first* comparison
(the latest study, or the one ``group`` names); the tables and ``report.json`` hold them all.
``write_report(out_dir, group=...)`` (or ``run_ids=...``) produces:

* ``iou_by_arch.png/.svg``   validation IoU vs epoch, mean over seeds with a min–max band, a panel
  per architecture, coloured by loss;
* ``iou_by_loss.png/.svg``   the same, a panel per loss, coloured by architecture;
* ``val_iou_heatmap.png/.svg``   architecture × loss, mean validation IoU, best cell (chosen on
  validation) marked; ``test_iou_heatmap.png/.svg`` the same cells' test IoU;
* ``ranking.png/.svg``       cells ranked by mean validation IoU (± std over seeds);
* ``runs.csv`` (one row per run), ``summary.csv`` (one row per cell of every comparison),
  ``history.csv`` (per-epoch metrics), ``report.json`` (what ``report --json`` prints);
* ``README.md`` naming the best model and how it was chosen.

Charts are drawn from per-cell aggregates, so their size does not grow with the number of
runs or epochs; the row limit is lifted deliberately in `save_charts` for the rare large one.
"""

from __future__ import annotations

import json
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
    best: Any = None  # the first comparison's best `seglab.analysis.compare.Cell`, or None
    best_sentence: str = ""
    comparisons: list[Any] = field(default_factory=list)  # seglab.analysis.compare.Comparison
    warnings: list[str] = field(default_factory=list)
    imbalance: dict[str, Any] | None = None  # seglab.analysis.imbalance.imbalance_json, when shares vary

    def to_json(self) -> dict[str, Any]:
        """The ``report --json`` document: comparisons (settings, varied, cells, best) + warnings
        (+ ``imbalance`` when the runs span several foreground shares)."""
        out = {"comparisons": [c.to_json() for c in self.comparisons], "warnings": list(self.warnings)}
        if self.imbalance is not None:
            out["imbalance"] = self.imbalance
        return out


def select_records(
    home: str | os.PathLike[str] | None = None,
    *,
    group: str | None = None,
    run_ids: list[str] | None = None,
) -> list[Any]:
    """Run records of a study (``group``), of explicit ``run_ids``, or every run in the store."""
    from seglab.store.run_store import RunStore

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


def queue_studies(home: str | os.PathLike[str] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """``(group → Study, group → name)`` for every study the queue knows (empty without a queue)."""
    from seglab.jobs.queue import DB_NAME, JobQueue
    from seglab.store.run_store import RunStore

    path = RunStore(home).home
    if not (path / DB_NAME).exists():
        return {}, {}
    studies: dict[str, Any] = {}
    names: dict[str, str] = {}
    with JobQueue(path) as q:
        for g in q.groups():
            names[g.id] = g.name
            studies[g.id] = q.group_study(g.id)
    return studies, names


def write_report(
    out_dir: str | os.PathLike[str],
    *,
    home: str | os.PathLike[str] | None = None,
    group: str | None = None,
    run_ids: list[str] | None = None,
    metric: str = "val_iou",
    formats: tuple[str, ...] = ("png", "svg"),
    checkpoint: str = "best",
) -> Report:
    """Write the comparison charts and tables of the chosen runs into ``out_dir``.

    ``metric`` orders the ranking chart; the best model is always chosen on validation IoU.
    ``checkpoint``: score runs at their kept epoch (``"best"``) or their last epoch (``"last"``).
    """
    from seglab.analysis.compare import (
        BAND_NOTE,
        TEST_SELECTION_SENTENCE,
        build_comparisons,
        comparison_grid,
        comparison_seed_runs,
        mixing_warning,
        seed_curves,
        summary_frame,
    )
    from seglab.analysis.results_table import display_table, histories_frame, runs_frame
    from seglab.store.run_store import RunStore
    from seglab.viz import charts

    records = select_records(home, group=group, run_ids=run_ids)
    if not records:
        raise SegLabError("there are no runs to report on yet; train some first.")
    if unknown := sorted(set(formats) - {"png", "svg"}):
        raise SegLabError(f"chart formats must be png or svg, not {', '.join(unknown)}.")
    if metric not in ("val_iou", "test_iou"):
        raise SegLabError(f"--metric must be val_iou or test_iou, not {metric!r}.")
    if checkpoint not in ("best", "last"):
        raise SegLabError(f"--checkpoint must be best or last, not {checkpoint!r}.")
    store = RunStore(home)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = Report(out_dir=out, n_runs=len(records))

    runs = runs_frame(records)
    studies, names = queue_studies(home)
    report.comparisons = build_comparisons(runs, studies, names, checkpoint=checkpoint)
    if warning := mixing_warning(report.comparisons):
        report.warnings.append(
            warning + " Each is reported on its own; the charts show the first (the latest study)."
        )
    histories = {r.id: store.history(r.id) for r in records}

    def table(frame: pd.DataFrame, name: str) -> None:
        path = out / name
        frame.to_csv(path, index=False)
        report.files.append(path)

    table(display_table(runs), "runs.csv")
    cell_rows = []
    for number, comparison in enumerate(report.comparisons, start=1):
        cells = comparison.cells_frame()
        if not cells.empty:
            cells.insert(0, "comparison", number)
            cells.insert(1, "settings", comparison.settings_text())
            cells["run_ids"] = cells["run_ids"].map(" ".join)
            cell_rows.append(cells)
    table(pd.concat(cell_rows) if cell_rows else pd.DataFrame(), "summary.csv")
    table(histories_frame(histories, runs).drop(columns=["run"]), "history.csv")

    first = report.comparisons[0] if report.comparisons else None
    if first is not None:
        curves = seed_curves(first, histories, "val_iou")
        if not curves.empty:
            report.files += save_charts(
                charts.band_curves_by_arch(curves, "val_iou"), out / "iou_by_arch", formats
            )
            report.files += save_charts(
                charts.band_curves_by_loss(curves, "val_iou"), out / "iou_by_loss", formats
            )
        if first.best is not None:
            for what in ("val_iou", "test_iou"):
                grid = comparison_grid(first, what)
                if not grid.empty:
                    title = (
                        "Validation IoU (mean over seeds) — ★ best, chosen here"
                        if what == "val_iou"
                        else "Test IoU of the same cells — ★ the model chosen on validation"
                    )
                    report.files += save_charts(
                        charts.test_iou_heatmap(grid, what, title=title), out / f"{what}_heatmap", formats
                    )
            summary = summary_frame(first, metric)
            report.files += save_charts(
                charts.ranked_bar(summary, metric, seed_runs=comparison_seed_runs(first)),
                out / "ranking",
                formats,
            )
    _imbalance_part(report, runs, formats)
    report.best = first.best if first is not None else None
    report.best_sentence = (
        first.best_sentence() if first is not None else "No run has finished yet, so there is no best model."
    )
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report.to_json(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    report.files.append(json_path)
    readme = out / "README.md"
    readme.write_text(_readme(report, group, TEST_SELECTION_SENTENCE, BAND_NOTE), encoding="utf-8")
    report.files.append(readme)
    return report


def _imbalance_part(report: Report, runs: pd.DataFrame, formats: tuple[str, ...]) -> None:
    """Runs over several foreground shares (issue 26): the imbalance block of the JSON, its table
    (``imbalance.csv``) and the IoU-against-share chart at p ≥ 0.5 and at the validation threshold."""
    from seglab.analysis import imbalance as imb
    from seglab.viz.imbalance_charts import iou_vs_share

    report.imbalance = imb.imbalance_json(runs)
    if report.imbalance is None:
        return
    path = report.out_dir / "imbalance.csv"
    pd.json_normalize(report.imbalance["cells"]).to_csv(path, index=False)
    report.files.append(path)
    for name, metric in imb.AT_THRESHOLD.items():
        cells = imb.imbalance_cells(runs, metric)
        if cells["n"].sum():
            chart = iou_vs_share(cells, title=imb.THRESHOLD_TITLES[name])
            report.files += save_charts(
                chart, report.out_dir / f"imbalance_at_{name.replace('.', '_')}", formats
            )


def save_charts(chart: Any, stem: Path, formats: tuple[str, ...]) -> list[Path]:
    """`seglab.viz.charts.save_chart` with Altair's 5000-row guard lifted on purpose: report
    charts are drawn from per-cell aggregates, so a big one is a big study, not a mistake."""
    import altair as alt

    from seglab.viz import charts

    with alt.data_transformers.disable_max_rows():
        return charts.save_chart(chart, stem, formats)


def _readme(report: Report, group: str | None, why: str, band: str) -> str:
    from seglab.analysis.compare import COUNTING_RULE
    from seglab.analysis.stats import BOOTSTRAP_RULE, HOLM_RULE

    lines = [f"# SegLab report{f' — study {group}' if group else ''}", ""]
    lines += [f"{report.n_runs} run(s), {len(report.comparisons)} comparison(s).", ""]
    lines += [f"**{report.best_sentence}**", "", why, ""]
    for warning in report.warnings:
        lines += [f"> Warning: {warning}", ""]
    for number, comparison in enumerate(report.comparisons, start=1):
        lines += [f"## Comparison {number}: {comparison.title()}", ""]
        lines += [f"Shared settings: {comparison.settings_text()}", ""]
        lines += [comparison.checkpoint_sentence(), ""]
        lines += [
            "| rank | model | seeds finished | val IoU (mean ± std, n) | test IoU | test 95 % interval | flags |",
            "|---:|---|---|---|---|---|---|",
        ]
        by_label = {c.label: c for c in comparison.cells}
        for row in comparison.cells_frame().itertuples(index=False):
            rank = "" if row.rank is None or row.rank != row.rank else int(row.rank)
            interval = by_label[row.model].test_interval()
            ci = "–" if interval is None else interval.text()
            lines.append(
                f"| {rank} | {row.model} | {row.seeds} | {row.val_iou} | {row.test_iou} | {ci} | {row.flags} |"
            )
        lines.append("")
        for sentence in (
            comparison.runner_up_sentence(),
            comparison.better_sentence(),
            comparison.seed_plan_sentence(),
            comparison.statistics_basis(),
        ):
            if sentence:
                lines += [sentence, ""]
        lines += [f"Rules: {COUNTING_RULE} {BOOTSTRAP_RULE} {HOLM_RULE}", ""]
    lines += [f"Curves: {band}.", ""]
    lines += ["Files:", ""] + [f"- `{p.name}`" for p in report.files if p.name != "README.md"]
    return "\n".join(lines) + "\n"

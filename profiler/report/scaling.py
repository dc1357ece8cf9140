"""Data-parallel scaling: throughput and efficiency per framework and worker count.

The sessions of one scaling run (``profiler.scaling_session``) share a ``distributed.group`` in
their environment, one session per worker count. Their runs' job windows (merged over the ranks
by ``profiler.distributed_run``) give each run's steady step times; the global batch of each
count turns them into global samples/s.

Scaling efficiency at N is throughput at N / (N x throughput at 1). Its 95% interval is the ratio
interval of the step times at N against those at 1 (``profiler.stats.compare_runs``: Welch's t on
run medians with two or more runs per count, else the runs' windows alone, autocorrelation
allowed for), scaled by the global batches: efficiency = (batch_N / batch_1) / (N x
step_N / step_1).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from dataclasses import replace as _replace
from typing import TYPE_CHECKING, Any

import numpy as np

from profiler.colors import label_of
from profiler.events import RankInfo, RankWindow, Window
from profiler.report.events import measured
from profiler.stats import METHOD_RUNS, compare_runs
from profiler.store import Store, StoredRun, StoredSession

if TYPE_CHECKING:
    from profiler.report.model import Report

SCALING_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ScalingPoint:
    """One framework at one worker count, over its ok runs."""

    framework: str
    workers: int
    runs: int
    strategy: str | None
    global_batch: int | None
    samples_per_s: float  # global: every rank's samples over the slowest rank's time
    step_time_ms: float  # the job's (slowest rank's) median steady step time
    efficiency: float  # throughput at N / (N x throughput at 1); 1.0 at N = 1
    efficiency_low: float
    efficiency_high: float
    interval_method: str | None
    comm_share: float | None  # time in gradient all-reduce / step time (None: not measured)
    comm: str | None  # how the communication time was measured, or why not
    straggler_rank: int | None  # the rank slowest in the most windows
    straggler_share: float | None  # ...and in what share of the windows
    rank_rss_mib: tuple[float | None, ...]  # each rank's peak RSS
    same_initial_weights: bool | None  # every rank reported the same weights digest


@dataclass(frozen=True)
class ScalingReport:
    """Every framework's scaling over the worker counts of one scaling run."""

    group: str
    scaling: str
    workers: tuple[int, ...]
    frameworks: tuple[str, ...]
    session_ids: tuple[int, ...]
    points: tuple[ScalingPoint, ...]
    verdict: str

    def point(self, framework: str, workers: int) -> ScalingPoint | None:
        """The point of ``framework`` at ``workers``, if it was measured."""
        for p in self.points:
            if p.framework == framework and p.workers == workers:
                return p
        return None


def group_of(session: StoredSession) -> str | None:
    """The scaling run a session belongs to (None: an ordinary session)."""
    dist = session.env.get("distributed")
    return str(dist["group"]) if isinstance(dist, dict) and "group" in dist else None


def load_scaling(store: Store, session_id: int) -> list[StoredSession]:
    """The sessions of the scaling run ``session_id`` belongs to, fewest workers first."""
    first = store.load(session_id)
    group = group_of(first)
    if group is None:
        return [first]
    found = [first]
    for row in store.sessions():
        if row.id != session_id:
            other = store.load(row.id)
            if group_of(other) == group:
                found.append(other)
    return sorted(found, key=lambda s: int(s.env["distributed"]["workers"]))


def _workers(session: StoredSession) -> int:
    dist = session.env.get("distributed")
    return int(dist["workers"]) if isinstance(dist, dict) else 1


def _launch(run: StoredRun) -> dict[str, Any]:
    launch = run.info.get("distributed")
    return launch if isinstance(launch, dict) else {}


def _comm_share(run: StoredRun) -> float | None:
    shares = [
        w.comm_s / w.seconds
        for e in measured(run).kept
        if isinstance(w := e.data, Window) and w.comm_s is not None
    ]
    return statistics.median(shares) if shares else None


def _stragglers(runs: list[StoredRun]) -> tuple[int | None, float | None]:
    slowest = Counter(
        w.straggler
        for run in runs
        for e in measured(run).kept
        if isinstance(w := e.data, Window) and w.straggler is not None
    )
    if not slowest:
        return None, None
    rank, count = slowest.most_common(1)[0]
    return rank, count / sum(slowest.values())


def _rank_rss(runs: list[StoredRun]) -> tuple[float | None, ...]:
    peaks: dict[int, float] = {}
    for run in runs:
        for _t, window in run.views(Window):
            for rank, value in enumerate(window.rank_rss_mib or []):
                if value is not None:
                    peaks[rank] = max(peaks.get(rank, 0.0), float(value))
    size = max(peaks, default=-1) + 1
    return tuple(peaks.get(r) for r in range(size))


def _same_weights(runs: list[StoredRun]) -> bool | None:
    digests = [info.weights_digest for run in runs for _t, info in run.views(RankInfo)]
    if not digests or any(d is None for d in digests):
        return None
    return len(set(digests)) == 1


def _median_or_nan(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def build_scaling(sessions: list[StoredSession]) -> ScalingReport:
    """The scaling of every framework over ``sessions`` (one per worker count)."""
    if not sessions:
        raise ValueError("no sessions to build a scaling report from")
    by_n = {_workers(s): s for s in sessions}
    workers = tuple(sorted(by_n))
    frameworks = tuple(dict.fromkeys(fw for s in sessions for fw in s.config.get("frameworks", [])))
    dist = sessions[0].env.get("distributed") or {}
    scaling = str(dist.get("scaling", "weak"))
    points: list[ScalingPoint] = []
    for fw in frameworks:
        base_runs = _ok_runs(by_n.get(1), fw)
        base_times = [measured(r).step_times_ms() for r in base_runs]
        base_batch = _global_batch(base_runs)
        for n in workers:
            runs = _ok_runs(by_n[n], fw)
            if not runs:
                continue
            times = [measured(r).step_times_ms() for r in runs]
            batch = _global_batch(runs)
            step_ms = _median_or_nan([float(np.median(t)) for t in times if len(t)])
            eff, low, high, method = _efficiency(base_times, times, base_batch, batch, n)
            straggler, share = _stragglers(runs)
            comm = [c for r in runs if (c := _comm_share(r)) is not None]
            comm_words = [info.comm for r in runs for _t, info in r.views(RankInfo)]
            points.append(
                ScalingPoint(
                    framework=fw,
                    workers=n,
                    runs=len(runs),
                    strategy=_launch(runs[0]).get("strategy"),
                    global_batch=batch,
                    samples_per_s=(batch or math.nan) / step_ms * 1000.0,
                    step_time_ms=step_ms,
                    efficiency=eff,
                    efficiency_low=low,
                    efficiency_high=high,
                    interval_method=method,
                    comm_share=statistics.median(comm) if comm else None,
                    comm=next((str(w) for w in comm_words if w), None),
                    straggler_rank=straggler,
                    straggler_share=share,
                    rank_rss_mib=_rank_rss(runs),
                    same_initial_weights=_same_weights(runs),
                )
            )
    report = ScalingReport(
        group=str(dist.get("group", "")),
        scaling=scaling,
        workers=workers,
        frameworks=frameworks,
        session_ids=tuple(by_n[n].id for n in workers),
        points=tuple(points),
        verdict="",
    )
    return ScalingReport(**{**asdict(report), "points": report.points, "verdict": verdict(report)})


def _ok_runs(session: StoredSession | None, framework: str) -> list[StoredRun]:
    if session is None:
        return []
    return [r for r in session.runs if r.framework == framework and r.status == "ok"]


def _global_batch(runs: list[StoredRun]) -> int | None:
    for run in runs:
        batch = _launch(run).get("global_batch")
        if isinstance(batch, int):
            return batch
    return None


def _efficiency(
    base: list[Any], times: list[Any], base_batch: int | None, batch: int | None, n: int
) -> tuple[float, float, float, str | None]:
    """(efficiency, low, high, interval method) at ``n`` workers against 1."""
    if not base or not base_batch or not batch:
        return math.nan, math.nan, math.nan, None
    est = compare_runs(base, times)
    if not math.isfinite(est.ratio) or est.ratio <= 0:
        return math.nan, math.nan, math.nan, None
    factor = batch / base_batch / n
    low, high = (
        (est.low, est.high)
        if est.method == METHOD_RUNS
        else (
            est.within_low,
            est.within_high,
        )
    )
    if not (math.isfinite(low) and math.isfinite(high) and low > 0):
        return factor / est.ratio, math.nan, math.nan, est.method
    return factor / est.ratio, factor / high, factor / low, est.method


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%" if math.isfinite(value) else "unknown"


def verdict(report: ScalingReport) -> str:
    """One sentence: each framework's efficiency at the largest worker count measured, e.g.
    "At 4 workers (weak scaling), PyTorch keeps 91% efficiency [88–93%], TensorFlow 84%
    [80–87%]." """
    if len(report.workers) < 2:
        return "Only one worker count was measured: there is no scaling to report."
    n = report.workers[-1]
    kept, failed = [], []
    for fw in report.frameworks:
        p = report.point(fw, n)
        if p is None or not math.isfinite(p.efficiency):
            failed.append(label_of(fw))
            continue
        interval = (
            f"[{_percent(p.efficiency_low)}–{_percent(p.efficiency_high)}]"
            if math.isfinite(p.efficiency_low)
            else "(no interval)"
        )
        kept.append((label_of(fw), _percent(p.efficiency), interval))
    sentence = f"At {n} workers ({report.scaling} scaling), "
    if kept:
        (name, eff, interval), rest = kept[0], kept[1:]
        sentence += f"{name} keeps {eff} efficiency {interval}"
        sentence += "".join(f", {nm} {e} {i}" for nm, e, i in rest)
    if failed:
        joined = ", ".join(failed)
        sentence += ("; " if kept else "") + f"{joined}: no efficiency (no successful runs)"
    return sentence + "."


def scaling_to_dict(report: ScalingReport) -> dict[str, Any]:
    """The scaling report as plain JSON (NaN as null), with its schema version."""

    def plain(value: Any) -> Any:
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    data = asdict(report)
    for point in data["points"]:
        point["efficiency_ci95"] = [point.pop("efficiency_low"), point.pop("efficiency_high")]
    return {"scaling_schema_version": SCALING_SCHEMA_VERSION, **plain(data)}


def with_scaling(report: Report, store: Store) -> Report:
    """``report`` with its scaling run's figures when its session is part of one (the
    sessions of every worker count are read from ``store``); unchanged otherwise."""
    dist = report.environment.get("distributed")
    if not isinstance(dist, dict) or "group" not in dist:
        return report
    sessions = load_scaling(store, report.generated_from.id)
    return _replace(report, scaling=build_scaling(sessions))


@dataclass(frozen=True)
class RankSeries:
    """One rank's step times through one run: window end step and per-step milliseconds."""

    run_id: int
    framework: str
    workers: int
    rank: int
    steps: tuple[int, ...]
    step_ms: tuple[float, ...]


def rank_series(session: StoredSession) -> list[RankSeries]:
    """Every rank's step-time series of every run of ``session``, grouped by run then rank."""
    workers = _workers(session)
    out = []
    for run in sorted(session.runs, key=lambda r: r.seq):
        by_rank: dict[int, list[tuple[int, float]]] = {}
        for _t, w in run.views(RankWindow):
            by_rank.setdefault(w.rank, []).append((w.step, w.step_time_ms))
        for rank in sorted(by_rank):
            points = sorted(by_rank[rank])
            out.append(
                RankSeries(
                    run.id,
                    run.framework,
                    workers,
                    rank,
                    tuple(s for s, _ in points),
                    tuple(ms for _, ms in points),
                )
            )
    return out

"""What a comparison holds, without Qt: per framework, one side per session (or per run), each
with its metrics and runs, and the config values that differ between the compared sessions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gui.models.replay import StoredView
from gui.models.rundata import RunData, SessionData
from profiler.colors import label_of
from profiler.config import FRAMEWORKS
from profiler.report.summary import RatioCell, RunFigures, SessionSummary, ratio_cell


@dataclass(frozen=True)
class Side:
    """One side of a comparison: what it is (``#3``, ``PyTorch #1``), its framework, its runs'
    figures from the summary model (``figures``; ratios use only the ok ones), its values (the
    summary's: the median over its ok runs) and its runs' data (for the plot)."""

    title: str
    framework: str
    values: dict[str, float | None]
    runs: tuple[RunData, ...]
    figures: tuple[RunFigures, ...] = ()

    @property
    def label(self) -> str:
        """The framework and the title, the framework named once (``PyTorch #3``)."""
        name = label_of(self.framework)
        return self.title if self.title.startswith(name) else f"{name} {self.title}"


Group = tuple[Side, ...]  # the sides compared with each other; the first is the baseline


def compare_sessions(views: Sequence[StoredView]) -> list[Group]:
    """Per framework of any of the sessions (known frameworks first), a side for each session
    that ran it, in the order given: a framework only one session ran is kept, alone."""
    summaries = [v.summary for v in views]
    present = list(dict.fromkeys(fw for s in summaries if s is not None for fw in s.frameworks))
    order = [fw for fw in FRAMEWORKS if fw in present] + [f for f in present if f not in FRAMEWORKS]
    groups = []
    for fw in order:
        sides = tuple(
            Side(
                f"#{v.session_id}",
                fw,
                dict(s.per_framework[fw]),
                _runs_of(v.data, fw),
                tuple(r for r in s.runs if r.framework == fw),
            )
            for v, s in zip(views, summaries, strict=True)
            if s is not None and fw in s.frameworks
        )
        groups.append(sides)
    return groups


def compare_runs(
    data: SessionData, run_ids: Sequence[int], summary: SessionSummary | None
) -> list[Group]:
    """Runs of one session, each a side of one group (the first is the baseline)."""
    return [tuple(_run_side(data.runs[r], summary) for r in run_ids)]


def _run_side(run: RunData, summary: SessionSummary | None) -> Side:
    title = f"{label_of(run.framework)} #{run.info.repeat + 1}"
    figures = summary.run(run.info.run_id) if summary is not None else None
    values = dict(figures.values) if figures is not None else {}
    return Side(title, run.framework, values, (run,), (figures,) if figures else ())


def side_ratio(key: str, base: Side, side: Side) -> RatioCell:
    """``side`` against ``base`` on figure ``key``: the ratio with its 95% interval and whether
    it is significant, over each side's ok runs (the report's statistics)."""
    return ratio_cell(key, base.figures, side.figures, base.label, side.label)


def _runs_of(data: SessionData, framework: str) -> tuple[RunData, ...]:
    return tuple(r for r in data.runs.values() if r.framework == framework)


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested config as ``section.key: value`` texts (lists as JSON)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value if isinstance(value, str) else json.dumps(value)
    return out


# Differences every comparison of different sessions has, and that say nothing about the runs.
IGNORED_KEYS = frozenset({"name"})


def config_diff(configs: Iterable[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """The config keys whose values differ between the configs, with each config's value
    (``—`` where a config has no such key), in key order."""
    flat = [flatten(c) for c in configs]
    keys = sorted({k for f in flat for k in f} - IGNORED_KEYS)
    rows = []
    for key in keys:
        values = [f.get(key, "—") for f in flat]
        if len(set(values)) > 1:
            rows.append((key, values))
    return rows

"""Run all as one batch: which config is running (``config 3 of 5``), how each ended, and the
closing summary. Qt-free, so it is tested without a window."""

from __future__ import annotations

from dataclasses import dataclass, field

WORDS = {"ok": "ok", "stopped": "stopped", "failed": "failed", "skipped": "skipped"}


@dataclass
class RunAllBatch:
    """One Run all: ``total`` configs queued at ``started_at`` (monotonic seconds)."""

    total: int
    started_at: float
    id: str = ""  # the same in every session of the batch (stored with each)
    names: list[str] = field(default_factory=list)  # started, in order
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)  # name, status, note
    running: str | None = None

    def start(self, name: str) -> None:
        """The next config starts."""
        self.names.append(name)
        self.running = name

    def finish(self, status: str, session_id: int) -> None:
        """The running config's session ended with ``status``."""
        if self.running is not None:
            note = f"session {session_id}" if session_id >= 0 else ""
            self.outcomes.append((self.running, status, note))
            self.running = None

    def skip(self, name: str, why: str) -> None:
        """A queued config was not run, for ``why``."""
        self.outcomes.append((name, "skipped", why))

    def run_options(self) -> dict[str, object]:
        """What each session records of the batch: its id, and which config of how many."""
        return {"id": self.id, "index": len(self.names), "total": self.total}

    def counts(self) -> dict[str, int]:
        """How many configs ended each way."""
        out: dict[str, int] = {}
        for _name, status, _note in self.outcomes:
            out[status] = out.get(status, 0) + 1
        return out

    def all_ok(self) -> bool:
        """True when every queued config ran and finished ok."""
        return self.counts().get("ok", 0) == self.total

    def failed(self) -> bool:
        """True when a config's session failed (a user's Stop and skipped configs are not
        failures)."""
        return any(
            status not in ("ok", "stopped", "skipped") for _n, status, _note in self.outcomes
        )

    def summary(self, now: float) -> str:
        """``Run all done in 3m 12s: 4 of 5 configs ok, 1 failed``."""
        elapsed = max(0.0, now - self.started_at)
        minutes, seconds = divmod(round(elapsed), 60)
        took = f"{minutes}m {seconds:02d}s" if minutes else f"{elapsed:.1f} s"
        counts = self.counts()
        parts = [f"{counts.get('ok', 0)} of {self.total} configs ok"]
        parts += [f"{n} {WORDS.get(s, s)}" for s, n in counts.items() if s != "ok"]
        return f"Run all done in {took}: " + ", ".join(parts)

    def details(self) -> str:
        """One line per config: name, how it ended, and its session or why it was skipped."""
        return "\n".join(
            f"{i}. {name}: {WORDS.get(status, status)}" + (f" ({note})" if note else "")
            for i, (name, status, note) in enumerate(self.outcomes, start=1)
        )

"""The Qt adapter between the engine's ComparisonSession and the widgets.

The session runs in a worker thread and reports from its own threads (event readers, sampler).
The adapter's listener (``gui.models.live.QueueListener``) only puts tuples on a
``queue.SimpleQueue``; a 100 ms ``QTimer`` on the GUI thread drains it and emits one batched
signal per tick, so the event loop never waits on a pipe, the store or NVML, and a 10 Hz sampler
costs one signal per tick, not one per sample.

Signal order follows the order things happened: data received before a run finished arrives in
a ``batch`` emitted before that ``runFinished``. ``sessionFinished`` is always the last signal of
a ``start()``, also after ``failed``.

A config with ``run.distributed`` is a scaling run: one session per worker count, run in turn
(``profiler.scaling_session``, as ``frameduel run`` does). Each announces itself with
``scalingPart(index, total, workers)`` before its ``runsPlanned``, then the usual signals follow;
a stop skips the worker counts not started yet, and the one ``sessionFinished`` names the last
session run.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from gui.models.live import Batch, QueueListener, add_item
from profiler.config import Config
from profiler.scaling_session import scaling_sessions
from profiler.session import ComparisonSession, RunOptions, store_for

DRAIN_INTERVAL_MS = 100
# A child that floods its stdout must not freeze the GUI: the rest waits for the next tick.
MAX_ITEMS_PER_TICK = 50_000


class SessionController(QObject):
    """Owns one ComparisonSession at a time and turns its reports into batched Qt signals."""

    runsPlanned = Signal(list)  # list[RunInfo]
    runStarted = Signal(object)  # RunInfo
    batch = Signal(object)  # Batch
    runFinished = Signal(object)  # RunOutcome
    runsAdded = Signal(list)  # list[RunInfo]: a round of auto repeats, planned mid-session
    certaintyChanged = Signal(object)  # profiler.repeats.Certainty, after each round
    repeatsEnded = Signal(object)  # profiler.repeats.StopRecord: why the repeats stopped
    sessionFinished = Signal(int, str)  # session id (-1 when none was created), status
    failed = Signal(str)  # a message in plain words (StoreError, launch failure, ...)
    # a scaling run's next worker count: index (0-based), how many counts, workers
    scalingPart = Signal(int, int, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        # The session's SessionListener: thread-safe, it only enqueues.
        self.listener = QueueListener(self._queue)
        self._thread: threading.Thread | None = None
        self._session: ComparisonSession | None = None
        self._lock = threading.Lock()
        self._stop_requested = False
        self._batch_size = 1
        self.scaling = False  # the session started last is a scaling run (run.distributed)
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_INTERVAL_MS)
        self._timer.timeout.connect(self.drain)

    def is_running(self) -> bool:
        """True from ``start()`` until ``sessionFinished`` has been emitted."""
        return self._thread is not None

    @property
    def session_id(self) -> int | None:
        """The stored id of the session running now (None before it is created or after)."""
        with self._lock:
            return None if self._session is None else self._session.session_id

    def start(
        self,
        config: Config,
        config_path: str | None,
        store_path: str | None,
        options: RunOptions | None = None,
    ) -> None:
        """Run ``config`` in a worker thread; the store is opened there too, not here.

        ``options`` go to the session unchanged (interpreters and cooldown are the config's).
        """
        if self.is_running():
            raise RuntimeError("a session is already running")
        with self._lock:
            self._stop_requested = False
            self._session = None
        self._batch_size = config.train.batch_size
        self.scaling = config.run.distributed is not None
        self._thread = threading.Thread(
            target=self._work,
            args=(config, config_path, store_path, options),
            name="frameduel-session",
            daemon=True,
        )
        self._thread.start()
        self._timer.start()

    def stop(self) -> None:
        """Ask the session to stop: the running child's tree is killed, later runs skipped.

        Returns at once; ``sessionFinished(..., 'stopped')`` follows when the worker is done.
        """
        with self._lock:
            self._stop_requested = True
            session = self._session
        if session is not None:
            session.stop()

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop and wait for the worker thread (for application exit only: this blocks)."""
        thread = self._thread
        if thread is None:
            return
        self.stop()
        thread.join(timeout_s)
        self.drain()

    # -- worker thread --------------------------------------------------------------------

    def _work(
        self,
        config: Config,
        config_path: str | None,
        store_path: str | None,
        options: RunOptions | None,
    ) -> None:
        q = self._queue
        session_id, status = -1, "failed"
        store = None
        try:
            store = store_for(store_path)
            if config.run.distributed is not None:
                sessions = scaling_sessions(
                    config, store, config_path=config_path, listener=self.listener, options=options
                )
            else:
                session = ComparisonSession(
                    config, store, config_path=config_path, listener=self.listener, options=options
                )
                sessions = [session]
            statuses: list[str] = []
            for index, session in enumerate(sessions):
                with self._lock:
                    self._session = session
                    stop_now = self._stop_requested
                if stop_now and index > 0:  # stopped between worker counts: the rest never start
                    break
                if stop_now:
                    session.stop()
                if config.run.distributed is not None:
                    workers = int(session.options.distributed["workers"])
                    q.put(("part", index, len(sessions), workers))
                q.put(("planned", session.prepare()))
                session_id = session.session_id if session.session_id is not None else -1
                session.run()
                if session.stop_record is not None:
                    q.put(("repeats", session.stop_record))
                statuses.append(session.status or "failed")  # the engine's, derived once
            status = _overall(statuses, len(sessions), self._stop_flag())
        except Exception as exc:  # the GUI must hear about any failure, in words
            q.put(("failed", _describe_failure(exc)))
        finally:
            if store is not None:
                try:
                    store.close()
                except Exception as exc:
                    q.put(("failed", _describe_failure(exc)))
                    status = "failed"
            q.put(("end", session_id, status))

    def _stop_flag(self) -> bool:
        with self._lock:
            return self._stop_requested

    # -- GUI thread -----------------------------------------------------------------------

    def drain(self) -> None:
        """Empty the queue and emit its contents as batched signals (called by the timer)."""
        current = Batch()
        for _ in range(MAX_ITEMS_PER_TICK):
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            kind = item[0]
            if kind in ("sample", "event", "log"):
                add_item(current, item, self._batch_size)
                continue
            # A lifecycle item: first hand over what arrived before it, in order.
            if not current.is_empty():
                self.batch.emit(current)
                current = Batch()
            if kind == "part":
                self.scalingPart.emit(item[1], item[2], item[3])
            elif kind == "planned":
                self.runsPlanned.emit(list(item[1]))
            elif kind == "started":
                self.runStarted.emit(item[1])
            elif kind == "finished":
                self.runFinished.emit(item[1])
            elif kind == "added":
                self.runsAdded.emit(list(item[1]))
            elif kind == "certainty":
                self.certaintyChanged.emit(item[1])
            elif kind == "repeats":
                self.repeatsEnded.emit(item[1])
            elif kind == "failed":
                self.failed.emit(item[1])
            elif kind == "end":
                self._end(item[1], item[2])
                return
        if not current.is_empty():
            self.batch.emit(current)

    def _end(self, session_id: int, status: str) -> None:
        self._timer.stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            # The worker's last act was to enqueue "end": this join returns at once.
            thread.join(timeout=5.0)
        with self._lock:
            self._session = None
        self.sessionFinished.emit(session_id, status)


def _overall(statuses: list[str], total: int, stopped: bool) -> str:
    """One status for the sessions of a start(): the one session's own; for a scaling run,
    ``stopped`` when a stop skipped worker counts, else the first not ok, else ok."""
    if stopped and len(statuses) < total:
        return "stopped"
    return next((s for s in statuses if s != "ok"), "ok" if statuses else "failed")


def _describe_failure(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, OSError) and not text:
        text = exc.strerror or ""
    name = type(exc).__name__
    if name in {"StoreError", "ConfigError"}:
        return text or name
    return f"{name}: {text}" if text else name

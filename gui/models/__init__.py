"""The window's Qt-free models: live points and batches, per-run column data, the summary model's
figures read from the store, replay of stored sessions, comparisons, formatting helpers and the
catalogue of what is plotted.

Nothing here imports PySide6 or pyqtgraph (an import-linter contract checks it), so the models
run and are tested without a display; the widgets and the Qt adapter import them, never the
other way round.
"""

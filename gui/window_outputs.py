"""The main window's outputs: exporting a session's report, previewing its PDF, saving a plot
as an image, and the status bar's offer to open what was written.

A mixin of ``MainWindow``: the dialogs ask on the user's request; rendering and writing run in
workers (``TaskRunner``); a remembered folder (QSettings) starts each file dialog.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from gui.export import (
    EXPORT_FILTERS,
    PreviewDialog,
    PreviewPages,
    WrittenFileNote,
    export_report,
    remember_folder,
    render_preview,
    suggested_path,
)
from gui.plot_options import IMAGE_FORMATS, plot_image_bytes


class OutputsMixin:
    """Exports, previews and saved plots (see the module docstring)."""

    # -- export ---------------------------------------------------------------------------

    def export_session_id(self) -> int | None:
        """The session Export acts on: the one selected in History when that tab is shown,
        else the one in the dashboard."""
        if self.tabs.currentWidget() is self.history:
            ids = self.history.selected_ids()
            if len(ids) == 1:
                return ids[0]
        return self._shown_session_id

    def export_dialog(self, suffix: str) -> None:
        """Ask where to write the report (a dialog, on the user's request), then export."""
        session_id = self.export_session_id()
        if session_id is None:
            return
        name = f"{self._session_name or 'session'}-{session_id}{suffix}"
        start = suggested_path(self.settings.q, name)
        path, _ = QFileDialog.getSaveFileName(self, "Export report", start, EXPORT_FILTERS[suffix])
        if path:
            if not Path(path).suffix:
                path += suffix
            remember_folder(self.settings.q, path)
            self.export_to(path, session_id)

    def export_to(self, path: str, session_id: int | None = None) -> None:
        """Write the report of a stored session to ``path`` (.pdf .html .json .csv) in a
        worker; ``exported(path)`` follows, or an error in the banner."""
        sid = self.export_session_id() if session_id is None else session_id
        if sid is None:
            return
        self._set_status(f"Exporting session {sid} to {path}…")
        store = self.store_path()

        def done(written: Path) -> None:
            self._set_status(f"Exported session {sid} to {written}")
            self.banner.show_message(f"Exported session {sid} to {written}", "info")
            self.written_note().show_file(str(written))
            self.exported.emit(str(written))

        self.runner.submit(
            "export",
            lambda: export_report(store, sid, path),
            done,
            lambda message, details: self.banner.show_message(
                f"Cannot export session {sid}: {message}", "error", details
            ),
        )

    def written_note(self) -> WrittenFileNote:
        """The status bar's note offering to open the last file written (made when first
        needed)."""
        note = getattr(self, "_written_note", None)
        if note is None:
            note = self._written_note = WrittenFileNote(self)
            self.statusBar().insertPermanentWidget(0, note)
        return note

    # -- saving plots ---------------------------------------------------------------------

    def save_plot_dialog(self, key: str, fmt: str) -> None:
        """Ask where to save plot ``key`` as ``png`` or ``svg`` (on the user's request)."""
        stem = self._session_name or "frameduel"
        name = f"{stem}-{key}.{fmt}"
        start = suggested_path(self.settings.q, name)
        path, _ = QFileDialog.getSaveFileName(self, "Save plot", start, IMAGE_FORMATS[fmt])
        if path:
            if not Path(path).suffix:
                path += f".{fmt}"
            remember_folder(self.settings.q, path)
            self.save_plot_to(key, path)

    def save_plot_to(self, key: str, path: str) -> None:
        """Render plot ``key`` as the file's suffix says (.png or .svg) and write it in a
        worker; ``exported(path)`` follows, or an error in the banner."""
        fmt = Path(path).suffix.lower().lstrip(".")
        data = plot_image_bytes(self.dashboard.plots[key], fmt)  # painting: the GUI thread's

        def done(_result: object) -> None:
            self._set_status(f"Saved the plot to {path}")
            self.written_note().show_file(path)
            self.exported.emit(path)

        self.runner.submit(
            "save-plot",
            lambda: Path(path).write_bytes(data),
            done,
            lambda message, details: self.banner.show_message(
                f"Cannot save the plot: {message}", "error", details
            ),
        )

    def preview_pdf(self) -> None:
        """Render the session's PDF in a worker and show its pages in a preview window."""
        sid = self.export_session_id()
        if sid is None:
            return
        self._set_status(f"Rendering the PDF of session {sid}…")
        store = self.store_path()

        def done(pages: PreviewPages) -> None:
            dialog = PreviewDialog(pages, f"session {sid}", self.runner, self)
            self.preview_dialog = dialog
            dialog.show()
            self._set_status(f"Previewing the PDF of session {sid} ({len(pages.pages)} pages)")
            dialog.finished.connect(lambda _result: self._set_idle_status())
            self.previewShown.emit(dialog)

        self.runner.submit(
            "preview",
            lambda: render_preview(store, sid),
            done,
            lambda message, details: self.banner.show_message(
                f"Cannot preview session {sid}: {message}", "error", details
            ),
        )

"""Exporting a stored session (PDF, HTML, JSON, CSV) and previewing its PDF inside the app.

PySide6-Essentials has no QtPdf module, so the preview renders the PDF's pages to PNG images with
``pdftoppm`` (poppler-utils) in a worker and shows them in a scroll area. Everything slow here
(reading the store, building the report, rendering, reading the images) runs in workers; the
report itself comes only from ``build_report`` and ``write_report``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.tasks import TaskRunner
from profiler.report_formats import REPORT_FORMATS
from profiler.session import store_for

# The save dialog's filter per format, from the engine's one registry of report formats.
EXPORT_FILTERS = {
    f.suffix: f"{f.description} ({' '.join('*' + s for s in (f.suffix, *f.aliases))})"
    for f in REPORT_FORMATS.values()
}
FOLDER_KEY = "export/folder"
PREVIEW_DPI = 80
RENDER_TIMEOUT_S = 120


def export_report(store_path: str | None, session_id: int, path: str) -> Path:
    """Load a session, build its report and write it as ``path``'s suffix says (a worker's job)."""
    from profiler.report import build_report, write_report  # matplotlib only when asked for
    from profiler.report.scaling import with_scaling

    store = store_for(store_path)
    try:
        report = with_scaling(build_report(store.load(session_id)), store)
    finally:
        store.close()
    return write_report(report, path)


def last_folder(q: QSettings) -> str:
    """The folder the user last exported to ("" before the first export)."""
    value = q.value(FOLDER_KEY, "")
    return str(value) if value else ""


def remember_folder(q: QSettings, path: str) -> None:
    """Remember ``path``'s folder as the next export's starting folder."""
    q.setValue(FOLDER_KEY, str(Path(path).parent))


def suggested_path(q: QSettings, name: str) -> str:
    """``name`` in the last export folder (just ``name`` before the first export)."""
    folder = last_folder(q)
    return str(Path(folder) / name) if folder else name


def open_url(url: QUrl) -> bool:
    """Open a file or folder with the desktop's application for it."""
    return QDesktopServices.openUrl(url)


class WrittenFileNote(QWidget):
    """A status bar note after a file was written: its name, Open and Show folder."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("writtenFileNote")
        self.path = ""
        self.opener = open_url  # the desktop; tests record the URLs instead
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(self)
        self.open_button = QToolButton(self)
        self.open_button.setText("Open")
        self.open_button.setToolTip("Open the written file with the desktop's application")
        self.folder_button = QToolButton(self)
        self.folder_button.setText("Show folder")
        self.folder_button.setToolTip("Open the folder it was written to")
        self.close_button = QToolButton(self)
        self.close_button.setText("×")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAutoRaise(True)
        for widget in (self.label, self.open_button, self.folder_button, self.close_button):
            row.addWidget(widget)
        self.open_button.clicked.connect(lambda: self.opener(QUrl.fromLocalFile(self.path)))
        self.folder_button.clicked.connect(
            lambda: self.opener(QUrl.fromLocalFile(str(Path(self.path).parent)))
        )
        self.close_button.clicked.connect(self.hide)
        self.hide()

    def show_file(self, path: str) -> None:
        """Offer to open ``path``."""
        self.path = path
        self.label.setText(f"Wrote {Path(path).name}")
        self.label.setToolTip(path)
        self.show()


@dataclass
class PreviewPages:
    """A rendered PDF: its file (in ``folder``, a temporary folder) and one image per page."""

    folder: Path
    pdf: Path
    pages: list[QImage]


def render_preview(store_path: str | None, session_id: int, dpi: int = PREVIEW_DPI) -> PreviewPages:
    """Write the session's PDF report to a temporary folder and render its pages (a worker's job).

    Raises RuntimeError in plain words when ``pdftoppm`` is missing or fails.
    """
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise RuntimeError(
            "cannot preview: pdftoppm is not installed (Debian package poppler-utils); "
            "export the PDF and open it in a viewer instead"
        )
    folder = Path(tempfile.mkdtemp(prefix="frameduel-preview-"))
    try:
        pdf = export_report(store_path, session_id, str(folder / f"session-{session_id}.pdf"))
        result = subprocess.run(
            [tool, "-r", str(dpi), "-png", str(pdf), str(folder / "page")],
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pdftoppm could not render the PDF: {result.stderr.strip()}")
        pages = [QImage(str(p)) for p in sorted(folder.glob("page-*.png"))]
        if not pages or any(image.isNull() for image in pages):
            raise RuntimeError("pdftoppm rendered no readable page")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return PreviewPages(folder, pdf, pages)


class PreviewDialog(QDialog):
    """The PDF's pages, one below the other; Save PDF copies the previewed file."""

    def __init__(
        self, preview: PreviewPages, title: str, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Preview — {title}")
        self.setObjectName("previewDialog")
        self.preview = preview
        self.runner = runner
        self.resize(760, 900)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.info = QLabel(f"{len(preview.pages)} pages · {title}", self)
        top.addWidget(self.info, 1)
        self.save_button = QPushButton("Save PDF…", self)
        self.save_button.clicked.connect(self.save_dialog)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        top.addWidget(self.save_button)
        top.addWidget(close)
        layout.addLayout(top)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        pages = QWidget(self.scroll_area)
        pages.setObjectName("previewPages")
        pages.setStyleSheet("QWidget#previewPages { background: #6B7178; }")
        column = QVBoxLayout(pages)
        column.setSpacing(12)
        column.setContentsMargins(12, 12, 12, 12)
        self.page_labels: list[QLabel] = []
        for image in preview.pages:
            label = QLabel(pages)
            label.setPixmap(QPixmap.fromImage(image))
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            column.addWidget(label, 0, Qt.AlignmentFlag.AlignHCenter)
            self.page_labels.append(label)
        self.scroll_area.setWidget(pages)
        layout.addWidget(self.scroll_area, 1)
        self.finished.connect(self._clean_up)

    def save_dialog(self) -> None:
        """Ask where to save the previewed PDF (a dialog, on the user's request)."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Save PDF", self.preview.pdf.name, EXPORT_FILTERS[".pdf"]
        )
        if path:
            self.save_to(path)

    def save_to(self, path: str) -> None:
        """Copy the previewed PDF to ``path`` in a worker."""
        source = self.preview.pdf
        self.runner.submit(
            "save-preview",
            lambda: shutil.copyfile(source, path),
            lambda _r: self.info.setText(f"Saved {path}"),
            lambda message, _d: self.info.setText(f"Cannot save: {message}"),
        )

    def _clean_up(self, *_: object) -> None:
        folder = self.preview.folder
        self.runner.submit("clean-preview", lambda: shutil.rmtree(folder, ignore_errors=True))

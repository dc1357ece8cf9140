"""The config editor: syntax colours, line numbers and live validation, errors at their line.

Validation runs in a worker (a config may name files to check: a custom module, an .npz) a short
pause after the last keystroke; only the newest result is shown. Reading and saving the file
also run in workers. ``validated(LoadedConfig)`` tells the window what the text means now.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from gui.elided_label import ElidedLabel
from gui.highlighter import ConfigHighlighter, language_of
from gui.side_panel import LoadedConfig, describe_config
from gui.tasks import TaskRunner
from gui.theme import LIGHT, Theme
from profiler.config import ConfigError, parse_config
from profiler.config_parse import read_config_text

VALIDATE_DELAY_MS = 300


class CodeEdit(QPlainTextEdit):
    """A plain text editor with a line-number gutter; ``error_line`` is marked in it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.error_line: int | None = None
        self.theme = LIGHT
        self._gutter = _Gutter(self)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabChangesFocus(False)
        self.blockCountChanged.connect(self._update_margin)
        self.updateRequest.connect(self._scroll_gutter)
        self._update_margin()

    def gutter_width(self) -> int:
        digits = len(str(max(1, self.blockCount())))
        return 14 + self.fontMetrics().horizontalAdvance("9") * max(3, digits)

    def _update_margin(self, *_: object) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _scroll_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        r = self.contentsRect()
        self._gutter.setGeometry(QRect(r.left(), r.top(), self.gutter_width(), r.height()))

    def mark_error(self, line: int | None) -> None:
        """Tint the whole of ``line`` (1-based) as the error's place; None clears it."""
        self.error_line = line
        selections = []
        if line is not None and 1 <= line <= self.blockCount():
            sel = QTextEdit.ExtraSelection()
            color = QColor(self.theme.danger)
            color.setAlpha(60)
            sel.format.setBackground(color)
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            sel.cursor = self.textCursor()
            sel.cursor.setPosition(self.document().findBlockByNumber(line - 1).position())
            sel.cursor.clearSelection()
            selections.append(sel)
        self.setExtraSelections(selections)
        self._gutter.update()

    def paint_gutter(self, event: QPaintEvent) -> None:
        painter = QPainter(self._gutter)
        painter.fillRect(event.rect(), QColor(self.theme.panel))
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible():
                is_error = number + 1 == self.error_line
                painter.setPen(QColor(self.theme.danger if is_error else self.theme.muted))
                painter.drawText(
                    0,
                    top,
                    self._gutter.width() - 6,
                    height,
                    int(Qt.AlignmentFlag.AlignRight),
                    ("▶ " if is_error else "") + str(number + 1),
                )
            block = block.next()
            top += round(self.blockBoundingRect(block).height()) if block.isValid() else height
            number += 1
        painter.end()


class _Gutter(QWidget):
    def __init__(self, editor: CodeEdit) -> None:
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self.editor.paint_gutter(event)


class ConfigEditor(QWidget):
    """Edits one config file; ``validated`` carries each newest validation's outcome."""

    validated = Signal(object)  # LoadedConfig
    saved = Signal(str)  # the path written

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.path: str | None = None
        self.result: LoadedConfig | None = None
        self._generation = 0
        self._shown_generation = -1
        self._loading = False
        self._saved_text = ""
        self.suggested_name = "config.yaml"
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        # elided: a long path must not widen the window
        self.title = ElidedLabel("No config open: pick one in the list and press Edit", self)
        self.title.setObjectName("paneTitle")
        top.addWidget(self.title, 1)
        self.save_button = QPushButton("Save", self)
        self.save_button.setToolTip("Save the file (Ctrl+S); the config list follows")
        self.save_button.clicked.connect(self.save)
        self.save_as_button = QPushButton("Save as…", self)
        self.save_as_button.clicked.connect(self.save_as)
        self.revert_button = QPushButton("Revert", self)
        self.revert_button.setToolTip("Forget the changes: read the file again")
        self.revert_button.clicked.connect(self.revert)
        for button in (self.save_button, self.save_as_button, self.revert_button):
            top.addWidget(button)
        layout.addLayout(top)
        self.text = CodeEdit(self)
        self.highlighter = ConfigHighlighter(self.text.document())
        layout.addWidget(self.text, 1)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(VALIDATE_DELAY_MS)
        self._timer.timeout.connect(self.validate_now)
        self.text.textChanged.connect(self._timer.start)
        self.text.textChanged.connect(self._update_buttons)
        self._update_buttons()

    @property
    def suffix(self) -> str:
        """The file's suffix (.yaml by default): it decides how the text is parsed."""
        return Path(self.path).suffix.lower() if self.path else ".yaml"

    def apply_theme(self, theme: Theme) -> None:
        """Recolour tokens, gutter and the error mark."""
        self.text.theme = theme
        self.highlighter.set_theme(theme)
        self.text.mark_error(self.text.error_line)
        self._show(self.result)

    def open_file(self, path: str) -> None:
        """Read ``path`` in a worker and edit it."""
        # Until the file arrives, the text on screen is not what will be edited: validating it
        # would report a stale result (an empty document is "not a mapping").
        self._loading = True
        self._timer.stop()
        self._generation += 1

        def failed(message: str, _details: str) -> None:
            self._loading = False
            self._show_problem(f"Cannot read {path}: {message}")

        self.runner.submit(
            "read-config",
            # the loader's own reading: a FIFO would block the worker, /dev/zero fill memory
            lambda: read_config_text(Path(path)),
            lambda text: self.set_text(path, text),
            failed,
        )

    def set_text(self, path: str | None, text: str) -> None:
        """Edit ``text`` as the contents of ``path`` (validated at once)."""
        self._loading = False
        self.path = path
        self._saved_text = text
        self.highlighter.set_language(language_of(self.suffix))
        self.title.setText(path or "Unsaved config")
        self.text.setPlainText(text)
        self.validate_now()

    def new_config(self, text: str, suggested_name: str) -> None:
        """Edit ``text`` as a new, unsaved config (Save asks where, offering
        ``suggested_name``)."""
        self.suggested_name = suggested_name
        self.set_text(None, "")
        self.text.setPlainText(text)
        self.title.setText(f"New config (unsaved, {suggested_name})")
        self.validate_now()

    def display_name(self) -> str:
        """The edited file's name, or the new config's suggested name."""
        return Path(self.path).name if self.path else self.suggested_name

    def has_text(self) -> bool:
        """True when the editor holds any text."""
        return bool(self.text.toPlainText())

    def is_modified(self) -> bool:
        """True when the text differs from the file."""
        return self.text.toPlainText() != self._saved_text

    def _update_buttons(self) -> None:
        modified = self.is_modified()
        self.save_button.setEnabled(modified and (self.path is not None or self.has_text()))
        self.revert_button.setEnabled(self.path is not None and modified)
        self.save_as_button.setEnabled(bool(self.text.toPlainText()))
        if self.path:
            self.title.setText(self.path + (" •" if modified else ""))

    def validate_now(self) -> None:
        """Validate the current text in a worker; only the newest result will be shown."""
        self._timer.stop()
        if self._loading:
            return
        self._generation += 1
        generation = self._generation
        text, suffix, path = self.text.toPlainText(), self.suffix, self.path
        if path is None and not text.strip():
            # Nothing open: nothing to judge (an empty text is "not a mapping", a red error
            # about a file that does not exist).
            self._shown_generation = generation
            self._show(None)
            return
        source = path or f"<editor>{suffix}"
        base_dir = Path(path).parent if path else None

        def work() -> LoadedConfig:
            try:
                return LoadedConfig(source, parse_config(text, suffix, source, base_dir), None)
            except ConfigError as exc:
                return LoadedConfig(source, None, exc)

        def done(result: LoadedConfig) -> None:
            if generation == self._generation:
                self._shown_generation = generation
                self._show(result)
                self.validated.emit(result)

        self.runner.submit("validate-config", work, done)

    def current_result(self) -> LoadedConfig | None:
        """What the text on screen means now; None while a validation is pending."""
        pending = self._loading or self._timer.isActive()
        if pending or self._shown_generation != self._generation:
            return None
        return self.result

    def _show(self, result: LoadedConfig | None) -> None:
        self.result = result
        if result is None:
            self.message.setText("")
            self.text.mark_error(None)
            return
        theme = self.text.theme
        if result.error is None:
            assert result.config is not None
            summary = describe_config(result.config).replace("\n", " · ")
            self.message.setStyleSheet(f"color: {theme.ok};")
            self.message.setText(f"✓ Valid: {result.config.name} — {summary}")
            self.text.mark_error(None)
            return
        error = result.error
        where = f"Line {error.line}" if error.line is not None else "The file"
        field = f", field {error.field}" if error.field else ""
        self.message.setStyleSheet(f"color: {theme.danger};")
        self.message.setText(f"✗ {where}{field}: {error.message}")
        self.text.mark_error(error.line)

    def _show_problem(self, text: str) -> None:
        self.message.setStyleSheet(f"color: {self.text.theme.danger};")
        self.message.setText(text)

    def save(self, *, after: Callable[[str], object] | None = None) -> None:
        """Write the text to its file in a worker (then ``saved`` is emitted and ``after(path)``
        called; neither when the save fails or a Save as… dialog is cancelled)."""
        if self.path is None and not self.text.toPlainText():
            return  # nothing open, nothing to save
        if self.path is None:
            self.save_as(after=after)
            return
        self._write(self.path, after)

    def save_as(self, *, after: Callable[[str], object] | None = None) -> None:
        """Ask for a file name (a dialog, on the user's request) and save there."""
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save config",
            self.path or self.suggested_name,
            "Configs (*.yaml *.yml *.toml *.json)",
        )
        if path:
            self._write(path, after)

    def _write(self, path: str, after: Callable[[str], object] | None = None) -> None:
        text = self.text.toPlainText()

        def done(_: object) -> None:
            self.path = path
            self._saved_text = text
            self._update_buttons()
            self.validate_now()
            self.saved.emit(path)
            if after is not None:
                after(path)

        self.runner.submit(
            "save-config",
            lambda: Path(path).write_text(text, encoding="utf-8"),
            done,
            lambda message, _details: self._show_problem(f"Cannot save {path}: {message}"),
        )

    def revert(self) -> None:
        """Read the file again, dropping the changes."""
        if self.path is not None:
            self.open_file(self.path)

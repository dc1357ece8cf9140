"""The Settings dialog: sampling, default frameworks and baseline, interpreters, store, theme.

Non-blocking (``open()``, window-modal): OK writes the values to ``AppSettings`` and emits
``applied``; the window then re-themes, re-probes interpreters or re-reads the store.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.settings import SAMPLE_HZ_RANGE, AppSettings
from gui.theme import THEME_CHOICES, THEME_LABELS
from profiler.colors import label_of
from profiler.config import FRAMEWORKS
from profiler.paths import default_store_path


class SettingsDialog(QDialog):
    """Edits a copy of the settings; OK saves them and emits ``applied``."""

    applied = Signal()

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")  # Qt adds " — FrameDuel"
        self.setObjectName("settingsDialog")
        self.setMinimumWidth(600)
        self.settings = settings
        layout = QVBoxLayout(self)

        measuring = QGroupBox("Measuring", self)
        form = QFormLayout(measuring)
        self.sample_hz = QSpinBox(measuring)
        self.sample_hz.setRange(0, int(SAMPLE_HZ_RANGE[1]))
        self.sample_hz.setSuffix(" Hz")
        self.sample_hz.setSpecialValueText("as the config says")
        self.sample_hz.setToolTip(
            "How often CPU, memory and GPU are sampled from outside, in samples per second "
            "(1–50 Hz); overrides run.sample_hz of every config"
        )
        self.sample_hz.setValue(int(settings.sample_hz))
        form.addRow("Sample rate:", self.sample_hz)
        layout.addWidget(measuring)

        frameworks = QGroupBox("Frameworks", self)
        fform = QFormLayout(frameworks)
        defaults = QHBoxLayout()
        self.default_boxes: dict[str, QCheckBox] = {}
        for fw in FRAMEWORKS:
            box = QCheckBox(label_of(fw), frameworks)
            box.setChecked(fw in settings.default_frameworks)
            box.setToolTip("Ticked at start-up; a loaded config ticks its own frameworks")
            defaults.addWidget(box)
            self.default_boxes[fw] = box
        fform.addRow("Default:", defaults)
        self.baseline = QComboBox(frameworks)
        for fw in FRAMEWORKS:
            self.baseline.addItem(label_of(fw), fw)
        self.baseline.setCurrentIndex(max(0, self.baseline.findData(settings.baseline)))
        self.baseline.setToolTip("The summary divides every framework's values by this one's")
        fform.addRow("Baseline:", self.baseline)
        self.python_edits: dict[str, QLineEdit] = {}
        pythons = settings.pythons
        for fw in FRAMEWORKS:
            edit = QLineEdit(pythons.get(fw, ""), frameworks)
            edit.setPlaceholderText(sys.executable)
            edit.setToolTip(
                f"The Python interpreter that runs {label_of(fw)} (its own virtual environment); "
                "empty: the one running FrameDuel"
            )
            self.python_edits[fw] = edit
            fform.addRow(f"{label_of(fw)} interpreter:", self._with_browse(edit, self._pick_python))
        layout.addWidget(frameworks)

        general = QGroupBox("Storage and looks", self)
        gform = QFormLayout(general)
        self.store_edit = QLineEdit(settings.store_path, general)
        self.store_edit.setPlaceholderText(str(default_store_path()))
        self.store_edit.setToolTip("The SQLite file every session is stored in")
        gform.addRow("Store:", self._with_browse(self.store_edit, self._pick_store))
        self.theme = QComboBox(general)
        for choice in THEME_CHOICES:
            self.theme.addItem(THEME_LABELS[choice], choice)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        gform.addRow("Theme:", self.theme)
        layout.addWidget(general)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _with_browse(self, edit: QLineEdit, pick: object) -> QWidget:
        row = QWidget(self)
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(edit, 1)
        button = QPushButton("Browse…", row)
        button.clicked.connect(lambda: pick(edit))  # type: ignore[operator]
        box.addWidget(button)
        return row

    def _pick_python(self, edit: QLineEdit) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Python interpreter", edit.text())
        if path:
            edit.setText(path)

    def _pick_store(self, edit: QLineEdit) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "FrameDuel store",
            edit.text() or str(default_store_path()),
            "SQLite (*.sqlite3 *.sqlite *.db)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            edit.setText(path)

    def accept(self) -> None:
        """Save the values and close."""
        s = self.settings
        s.sample_hz = float(self.sample_hz.value())
        s.default_frameworks = [fw for fw, box in self.default_boxes.items() if box.isChecked()]
        s.baseline = str(self.baseline.currentData())
        s.pythons = {fw: e.text().strip() for fw, e in self.python_edits.items()}
        s.store_path = self.store_edit.text().strip()
        s.theme = str(self.theme.currentData())
        s.sync()
        super().accept()
        self.applied.emit()

"""Quick overrides: steps, repeats, batch size, threads and device for the runs started from the
app, without editing a config file. The values go to ``Config.with_overrides``, the same path as
the CLI's flags, so the session stores the config as it ran."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QToolButton,
    QWidget,
)

SPINS = (  # key (a with_overrides argument), label, largest value
    ("steps", "Steps", 1_000_000),
    ("repeats", "Repeats", 100),
    ("batch_size", "Batch", 1_000_000),
    ("threads", "Threads", 1024),
)
DEVICES = ("auto", "cpu", "cuda", "cuda:0", "cuda:1")


class QuickOverrides(QGroupBox):
    """A compact grid of overrides; "config" (0, or the first device entry) keeps the file's
    value. ``changed`` follows every edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Quick overrides (every run)", parent)
        self.setToolTip(
            "Change a few values for the runs you start here without editing the file; "
            '"config" keeps the file\'s value. The session records the config as run.'
        )
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        self.spins: dict[str, QSpinBox] = {}
        for i, (key, title, top) in enumerate(SPINS):
            spin = QSpinBox(self)
            spin.setRange(0, top)
            spin.setSpecialValueText("config")  # 0: as the config says
            spin.setAccelerated(True)
            spin.setToolTip(f'{title} for every run; "config" keeps the file\'s value')
            spin.valueChanged.connect(self.changed)
            label = QLabel(title, self)
            label.setBuddy(spin)
            grid.addWidget(label, i // 2, (i % 2) * 2)
            grid.addWidget(spin, i // 2, (i % 2) * 2 + 1)
            self.spins[key] = spin
        self.device_box = QComboBox(self)
        self.device_box.addItem("config", None)
        for device in DEVICES:
            self.device_box.addItem(device, device)
        self.device_box.setToolTip('The device for every run; "config" keeps the file\'s')
        self.device_box.currentIndexChanged.connect(self.changed)
        device_label = QLabel("Device", self)
        device_label.setBuddy(self.device_box)
        grid.addWidget(device_label, 2, 0)
        grid.addWidget(self.device_box, 2, 1)
        self.reset_button = QToolButton(self)
        self.reset_button.setText("Reset")
        self.reset_button.setToolTip("Back to the configs' own values")
        self.reset_button.clicked.connect(self.reset)
        grid.addWidget(self.reset_button, 2, 3, Qt.AlignmentFlag.AlignRight)
        for column in (1, 3):
            grid.setColumnStretch(column, 1)

    def values(self) -> dict[str, Any]:
        """The overrides set, as keyword arguments of ``Config.with_overrides``."""
        out: dict[str, Any] = {k: s.value() for k, s in self.spins.items() if s.value()}
        device = self.device_box.currentData()
        if device:
            out["device"] = str(device)
        return out

    def reset(self) -> None:
        """Every value back to "config"."""
        for spin in self.spins.values():
            spin.setValue(0)
        self.device_box.setCurrentIndex(0)

"""The machine at a glance, as htop and nvitop show it: a bar per CPU core, memory used of
installed, and the run's GPU when NVML reports one.

It reads the ``SystemSnapshot`` each batch of the adapter carries (the sampler measured it in its
own thread); it never asks psutil or NVML itself, so the GUI thread never waits on them.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from gui.models.live import SystemSnapshot
from gui.theme import LIGHT, Theme

IDLE_TEXT = "CPU cores, machine memory and the GPU show here while a session runs."
BAR_GAP = 2
MAX_BAR_WIDTH = 9


def load_color(percent: float) -> QColor:
    """Green under half load, amber to 85 %, red above (htop's scale)."""
    if percent < 50:
        return QColor("#4CAF50")
    if percent < 85:
        return QColor("#E0A030")
    return QColor("#D9534F")


class CoreBars(QWidget):
    """One vertical bar per CPU core, its height the core's busy percent."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cores: tuple[float, ...] = ()
        self.track = QColor("#8888")
        self.setMinimumSize(24, 22)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(max(24, len(self.cores) * (MAX_BAR_WIDTH - 2 + BAR_GAP)), 22)

    def set_cores(self, cores: tuple[float, ...]) -> None:
        """Show these per-core percentages."""
        grew = len(cores) != len(self.cores)
        self.cores = cores
        listed = ", ".join(f"{i}: {c:.0f}%" for i, c in enumerate(cores) if math.isfinite(c))
        self.setToolTip(f"CPU % per core (the whole machine, not only the runs)\n{listed}")
        if grew:
            self.updateGeometry()
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        if not self.cores:
            return
        painter = QPainter(self)
        painter.setPen(Qt.PenStyle.NoPen)
        n = len(self.cores)
        gap = BAR_GAP if self.width() >= 3 * n else 0
        width = min(MAX_BAR_WIDTH, max(1.0, (self.width() - gap * (n - 1)) / n))
        height = self.height()
        for i, percent in enumerate(self.cores):
            x = i * (width + gap)
            painter.setBrush(self.track)
            painter.drawRect(QRectF(x, 0, width, height))
            if math.isfinite(percent):
                filled = height * min(max(percent, 0.0), 100.0) / 100.0
                painter.setBrush(load_color(percent))
                painter.drawRect(QRectF(x, height - filled, width, filled))
        painter.end()


class SystemView(QWidget):
    """A one-line strip: per-core CPU bars, machine memory and the GPU (when there is one)."""

    def __init__(self, parent: QWidget | None = None, theme: Theme = LIGHT) -> None:
        super().__init__(parent)
        self.setObjectName("systemView")
        row = QHBoxLayout(self)
        row.setContentsMargins(2, 0, 2, 0)
        row.setSpacing(8)
        self.cpu_label = QLabel("CPU", self)
        self.bars = CoreBars(self)
        self.memory = QLabel(self)
        self.memory.setToolTip("Memory used by the whole machine, of the memory installed")
        self.gpu = QLabel(self)
        self.gpu.setToolTip(
            "The run's GPU (NVML): utilisation, the run's memory, board power, temperature"
        )
        self.idle = QLabel(IDLE_TEXT, self)
        self.idle.setObjectName("muted")
        self.title = QLabel("<b>Machine</b>", self)
        self.title.setToolTip("The whole machine, as sampled with the runs (not only the runs)")
        row.addWidget(self.title)
        row.addWidget(self.cpu_label)
        row.addWidget(self.memory)
        row.addWidget(self.gpu)
        row.addWidget(self.idle, 1)
        # Last and stretching: in a narrow window the bars give way before the words do.
        row.addWidget(self.bars, 1)
        for label in (self.cpu_label, self.memory, self.gpu):
            # Clipped at the right edge in a narrow window rather than widening it.
            label.setMinimumWidth(1)
        self.snapshot: SystemSnapshot | None = None
        self.apply_theme(theme)
        self.clear()

    def apply_theme(self, theme: Theme) -> None:
        """The bars' track in the theme's foreground, faint."""
        track = QColor(theme.plot_foreground)
        track.setAlpha(40)
        self.bars.track = track
        self.bars.update()

    def clear(self) -> None:
        """No session running: say what shows here."""
        self.snapshot = None
        for widget in (self.cpu_label, self.bars, self.memory, self.gpu):
            widget.hide()
        self.idle.show()

    def show_snapshot(self, snap: SystemSnapshot) -> None:
        """Show the machine as sampled at ``snap``."""
        self.snapshot = snap
        self.idle.hide()
        cores = snap.cpu_per_core
        self.cpu_label.setVisible(bool(cores))
        self.bars.setVisible(bool(cores))
        if cores:
            mean = sum(c for c in cores if math.isfinite(c)) / len(cores)
            self.cpu_label.setText(f"CPU {mean:.0f}% · {len(cores)} cores")
            self.bars.set_cores(cores)
        self.memory.setVisible(math.isfinite(snap.mem_used_mib))
        if math.isfinite(snap.mem_used_mib):
            used = snap.mem_used_mib / 1024
            if math.isfinite(snap.mem_total_mib) and snap.mem_total_mib > 0:
                share = 100 * snap.mem_used_mib / snap.mem_total_mib
                total = snap.mem_total_mib / 1024
                self.memory.setText(f"Memory {used:.1f} / {total:.1f} GiB ({share:.0f}%)")
                self.memory.setToolTip(
                    f"Memory used by the whole machine: {used:.1f} GiB of {total:.1f} GiB"
                )
            else:
                self.memory.setText(f"Memory {used:.1f} GiB used")
        gpu = gpu_text(snap)
        self.gpu.setVisible(bool(gpu))
        self.gpu.setText(gpu)

    def text(self) -> str:
        """The strip's words (for tests and screen readers)."""
        labels = (self.cpu_label, self.memory, self.gpu, self.idle)
        return " · ".join(w.text() for w in labels if w.text() and not w.isHidden())


def gpu_text(snap: SystemSnapshot) -> str:
    """``GPU 85% · 1.5 GiB · 120 W · 65 °C``, leaving out what NVML did not say ("" for none)."""
    parts = []
    if math.isfinite(snap.gpu_util_percent):
        parts.append(f"{snap.gpu_util_percent:.0f}%")
    if math.isfinite(snap.gpu_mem_mib):
        parts.append(f"{snap.gpu_mem_mib / 1024:.1f} GiB")
    if math.isfinite(snap.gpu_power_w):
        parts.append(f"{snap.gpu_power_w:.0f} W")
    if math.isfinite(snap.gpu_temp_c):
        parts.append(f"{snap.gpu_temp_c:.0f} °C")
    return "GPU " + " · ".join(parts) if parts else ""

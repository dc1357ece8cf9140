"""The left side panel: loaded configs, framework choice and the Run / Stop buttons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from profiler.colors import color_of, label_of
from profiler.config import (
    FRAMEWORKS,
    CNNModel,
    Config,
    ConfigError,
    CustomModel,
    MLPModel,
    ModelConfig,
    RNNModel,
    TransformerModel,
)

PATH_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class LoadedConfig:
    """A config file as loaded: either a valid ``config`` or the ``error`` that stops it."""

    path: str
    config: Config | None
    error: ConfigError | None

    @property
    def name(self) -> str:
        """The config's own name, else the file name."""
        return self.config.name if self.config is not None else Path(self.path).name


def describe_model(model: ModelConfig) -> str:
    """The model in a few words: its family and shape."""
    if isinstance(model, MLPModel):
        shape = " → ".join(str(d) for d in (model.input_dim, *model.hidden, model.num_classes))
        return f"MLP {shape} ({model.activation})"
    if isinstance(model, CNNModel):
        dims = "×".join(map(str, model.input_shape))
        return (
            f"CNN {dims}, {len(model.conv)} conv + {len(model.dense)} dense → {model.num_classes}"
        )
    if isinstance(model, TransformerModel):
        return (
            f"Transformer {model.layers}×d{model.d_model} ({model.heads} heads), "
            f"seq {model.seq_len} → {model.num_classes}"
        )
    if isinstance(model, RNNModel):
        return (
            f"{model.cell.upper()} {model.layers}×{model.hidden}, seq {model.seq_len} "
            f"→ {model.num_classes}"
        )
    if isinstance(model, CustomModel):
        return f"custom {Path(model.module).name} → {model.num_classes}"
    return f"{getattr(model, 'family', 'unknown')} model"


def describe_config(config: Config) -> str:
    """A short summary: model, batch, steps, optimizer and device."""
    t = config.train
    extras: list[str] = [t.precision] if t.precision != "fp32" else []
    if t.compile:
        extras.append("compiled")
    if config.run.repeats > 1:
        extras.append(f"{config.run.repeats} repeats")
    return (
        f"{describe_model(config.model)}\n"
        f"batch {t.batch_size} · {t.steps} steps ({t.warmup_steps} warm-up)\n"
        f"{t.optimizer.name} lr {t.optimizer.lr:g} · device {config.device}"
        + "".join(f" · {e}" for e in extras)
    )


def describe_error(error: ConfigError) -> str:
    """The error in words, naming the file, the line and the field."""
    where = Path(error.path).name
    if error.line is not None:
        where += f", line {error.line}"
    field = f", field {error.field}" if error.field else ""
    return f"Cannot use {where}{field}: {error.message}"


def swatch_icon(color: str, size: int = 12) -> QIcon:
    """A filled square in ``color``, the framework's mark everywhere in the GUI."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(color))
    icon = QIcon(pixmap)
    # Keep the colour while a checkbox is disabled (during a run): it is a legend, not a state.
    icon.addPixmap(pixmap, QIcon.Mode.Disabled)
    return icon


class SidePanel(QWidget):
    """A view only: MainWindow reads its state and reacts to its signals."""

    openRequested = Signal()
    frameworksChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidePanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(10)

        configs = QGroupBox("Configs", self)
        box = QVBoxLayout(configs)
        self.config_list = QListWidget(configs)
        self.config_list.setMinimumHeight(90)
        self.config_list.setMaximumHeight(220)
        self.config_list.setToolTip("Drop .yaml, .toml or .json config files on the window")
        self.open_button = QPushButton("Open…", configs)
        self.open_button.clicked.connect(self.openRequested)
        self.summary = QLabel("Drop a config file here or use Open…", configs)
        self.summary.setObjectName("configSummary")
        self.summary.setWordWrap(True)
        box.addWidget(self.config_list, 1)
        box.addWidget(self.summary)
        box.addWidget(self.open_button)
        layout.addWidget(configs)

        frameworks = QGroupBox("Frameworks", self)
        fbox = QVBoxLayout(frameworks)
        self.framework_boxes: dict[str, QCheckBox] = {}
        for fw in FRAMEWORKS:
            check = QCheckBox(label_of(fw), frameworks)
            check.setIcon(swatch_icon(color_of(fw)))
            check.toggled.connect(self.frameworksChanged)
            fbox.addWidget(check)
            self.framework_boxes[fw] = check
        layout.addWidget(frameworks)

        layout.addStretch(1)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run", self)
        self.run_button.setObjectName("runButton")
        self.run_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaStop))
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(False)
        for button in (self.run_button, self.stop_button):
            button.setMinimumHeight(34)
            buttons.addWidget(button)
        layout.addLayout(buttons)

    # -- configs list ---------------------------------------------------------------------

    def add_config(self, loaded: LoadedConfig) -> QListWidgetItem:
        """Add (or replace, for the same path) a config entry and select it."""
        item = self._item_for(loaded.path)
        if item is None:
            item = QListWidgetItem()
            item.setData(PATH_ROLE, loaded.path)
            self.config_list.addItem(item)
        item.setText(loaded.name)
        if loaded.error is not None:
            item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
            item.setToolTip(describe_error(loaded.error))
        else:
            item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon))
            item.setToolTip(loaded.path)
        self.config_list.setCurrentItem(item)
        return item

    def _item_for(self, path: str) -> QListWidgetItem | None:
        for i in range(self.config_list.count()):
            item = self.config_list.item(i)
            if item.data(PATH_ROLE) == path:
                return item
        return None

    def current_path(self) -> str | None:
        """The path of the selected config, or None."""
        item = self.config_list.currentItem()
        return None if item is None else str(item.data(PATH_ROLE))

    # -- frameworks -----------------------------------------------------------------------

    def set_frameworks(self, frameworks: list[str]) -> None:
        """Tick exactly the given frameworks (without a signal per box)."""
        for fw, check in self.framework_boxes.items():
            check.blockSignals(True)
            check.setChecked(fw in frameworks)
            check.blockSignals(False)
        self.frameworksChanged.emit()

    def checked_frameworks(self) -> list[str]:
        """The ticked frameworks, in the canonical order."""
        return [fw for fw, check in self.framework_boxes.items() if check.isChecked()]

    def set_running(self, running: bool, can_run: bool) -> None:
        """Enable the controls that make sense while running or idle."""
        self.run_button.setEnabled(can_run and not running)
        self.stop_button.setEnabled(running)
        for check in self.framework_boxes.values():
            check.setEnabled(not running)

"""The left side panel: the configs (drop zone, list, open, recent), the frameworks this machine
has (version and devices, each a checkbox) and the Run / Run all / Stop buttons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.overrides import QuickOverrides
from profiler.colors import color_of, label_of
from profiler.config import (
    FRAMEWORKS,
    BERTModel,
    CNNModel,
    Config,
    ConfigError,
    CustomModel,
    GPTModel,
    MLPModel,
    ModelConfig,
    ResNetModel,
    RNNModel,
    TransformerModel,
    ViTModel,
)

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
NAME_ROLE = Qt.ItemDataRole.UserRole + 2


def _distinct_tail(path: str, items: list[QListWidgetItem]) -> str:
    """The shortest tail of ``path`` (``demo.yaml``, ``a/demo.yaml``…) that no other listed
    config's path ends with."""
    parts = Path(path).parts
    others = [Path(str(i.data(PATH_ROLE))).parts for i in items]
    for n in range(1, len(parts) + 1):
        tail = parts[-n:]
        if sum(1 for o in others if o[-n:] == tail) == 1:
            return str(Path(*tail))
    return path


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
    """The model in a few words: its preset, family and shape."""
    text = _model_words(model)
    return text if model.preset is None else f"{model.preset}: {text}"


def _model_words(model: ModelConfig) -> str:
    if isinstance(model, ResNetModel):
        dims = "×".join(map(str, model.input_shape))
        return f"ResNet {dims}, {sum(model.layers)} {model.block} blocks → {model.num_classes}"
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
    if isinstance(model, GPTModel):
        return (
            f"GPT {model.layers}×d{model.d_model} ({model.heads} heads), seq {model.seq_len}, "
            f"vocab {model.vocab_size}"
        )
    if isinstance(model, ViTModel):
        dims = "×".join(map(str, model.input_shape))
        return (
            f"ViT {model.layers}×d{model.d_model} ({model.heads} heads), {dims}/{model.patch} "
            f"→ {model.num_classes}"
        )
    if isinstance(model, BERTModel):
        return (
            f"BERT {model.layers}×d{model.d_model} ({model.heads} heads), seq {model.seq_len} "
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
    repeats = config.run.repeats
    if repeats == "auto" and len(config.frameworks) > 1:
        extras.append(f"repeats until ±{config.run.target_ci * 100:g}%")
    elif isinstance(repeats, int) and repeats > 1:
        extras.append(f"{repeats} repeats")
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


def framework_text(framework: str, info: dict[str, Any] | None) -> tuple[str, str, bool]:
    """What a probe said about a framework: (one line, tooltip, available).

    ``info`` is one entry of ``probe_frameworks()`` (None: not probed yet).
    """
    if info is None:
        return "checking…", "Asking the interpreter which version and devices it has", True
    python = str(info.get("python") or "")
    where = f"\nInterpreter: {python}" if python else ""
    if not info.get("available"):
        error = str(info.get("error") or "not installed")
        return "not available", f"{label_of(framework)} cannot run: {error}{where}", False
    devices = ", ".join(info.get("devices") or []) or "no devices listed"
    version = str(info.get("version") or "?")
    return (
        f"{version} · {devices}",
        f"{label_of(framework)} {version}\nDevices: {devices}{where}",
        True,
    )


class SidePanel(QWidget):
    """A view only: MainWindow reads its state and reacts to its signals."""

    openRequested = Signal()
    editRequested = Signal()
    removeRequested = Signal()
    clearRequested = Signal()
    frameworksChanged = Signal()
    frameworksTicked = Signal()  # the user ticked or unticked a box (not set_frameworks)
    overridesChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidePanel")
        self._running = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(6)

        configs = QGroupBox("Configs", self)
        box = QVBoxLayout(configs)
        self.drop_zone = QLabel("Drop config files or folders here", configs)
        self.drop_zone.setObjectName("dropZone")
        self.drop_zone.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_zone.setWordWrap(True)
        self.drop_zone.setToolTip(
            "Drop .yaml, .yml, .toml or .json configs (or folders of them) anywhere on the "
            "window; they queue up in the list below"
        )
        self.config_list = QListWidget(configs)
        self.config_list.setMinimumHeight(70)
        self.config_list.setMaximumHeight(150)
        self.config_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.config_list.setToolTip(
            "Loaded configs; Run all runs them one after another. Shift/Ctrl-click selects "
            "several; Delete takes the selected ones off the list (the files stay)"
        )
        self.config_list.itemDoubleClicked.connect(lambda _item: self.editRequested.emit())
        self.delete_shortcut = QShortcut(QKeySequence.StandardKey.Delete, self.config_list)
        self.delete_shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        self.delete_shortcut.activated.connect(self.removeRequested)
        buttons = QGridLayout()
        buttons.setSpacing(4)
        self.open_button = QPushButton("Open…", configs)
        self.open_button.setToolTip("Open config files (Ctrl+O)")
        self.open_button.clicked.connect(self.openRequested)
        self.recent_button = QToolButton(configs)
        self.recent_button.setText("Recent")
        self.recent_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.edit_button = QPushButton("Edit", configs)
        self.edit_button.setToolTip("Open the selected config in the editor (double-click)")
        self.edit_button.clicked.connect(self.editRequested)
        self.remove_button = QPushButton("Remove", configs)
        self.remove_button.setToolTip(
            "Take the selected configs off the list (Delete; the files stay)"
        )
        self.remove_button.clicked.connect(self.removeRequested)
        self.clear_button = QPushButton("Clear", configs)
        self.clear_button.setToolTip("Empty the list (the files stay)")
        self.clear_button.clicked.connect(self.clearRequested)
        # two rows: one row of five buttons would set the panel's (and window's) least width
        for i, button in enumerate(
            (
                self.open_button,
                self.recent_button,
                self.edit_button,
                self.remove_button,
                self.clear_button,
            )
        ):
            buttons.addWidget(button, i // 3, i % 3)
        self._update_list_buttons()
        self.config_list.itemSelectionChanged.connect(self._update_list_buttons)
        self.summary = QLabel("Drop a config file here or use Open…", configs)
        self.summary.setObjectName("configSummary")
        self.summary.setWordWrap(True)
        box.addWidget(self.drop_zone)
        box.addWidget(self.config_list, 1)
        box.addLayout(buttons)
        box.addWidget(self.summary)
        layout.addWidget(configs)

        frameworks = QGroupBox("Frameworks", self)
        frameworks.setToolTip(
            "The ticks belong to the selected config: each config keeps its own (its file's "
            "frameworks until you change them), and Run all runs each config with its ticks"
        )
        self.frameworks_group = frameworks
        # One line per framework (box, then what the probe found): the panel fits 768 lines.
        fbox = QGridLayout(frameworks)
        fbox.setVerticalSpacing(2)
        fbox.setColumnStretch(1, 1)
        self.framework_boxes: dict[str, QCheckBox] = {}
        self.framework_info: dict[str, QLabel] = {}
        self.framework_available: dict[str, bool] = {}
        for row, fw in enumerate(FRAMEWORKS):
            check = QCheckBox(label_of(fw), frameworks)
            check.setIcon(swatch_icon(color_of(fw)))
            check.toggled.connect(self.frameworksChanged)
            check.clicked.connect(self.frameworksTicked)
            info = QLabel("", frameworks)
            info.setObjectName("frameworkInfo")
            info.setWordWrap(True)
            info.hide()  # until a probe says something
            fbox.addWidget(check, row, 0)
            fbox.addWidget(info, row, 1)
            self.framework_boxes[fw] = check
            self.framework_info[fw] = info
            self.framework_available[fw] = True
        layout.addWidget(frameworks)
        self.overrides = QuickOverrides(self)
        self.overrides.changed.connect(self.overridesChanged)
        self.override_spins = self.overrides.spins
        self.device_box = self.overrides.device_box
        layout.addWidget(self.overrides)

        layout.addStretch(1)
        run_row = QHBoxLayout()
        self.run_button = QPushButton("Run", self)
        self.run_button.setObjectName("runButton")
        self.run_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.run_button.setToolTip("Run the selected config with the ticked frameworks (Ctrl+R)")
        self.run_all_button = QPushButton("Run all", self)
        self.run_all_button.setToolTip(
            "Run every valid config in the list, one after another, each with the frameworks "
            "ticked for it and the quick overrides (Ctrl+Shift+R)"
        )
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaStop))
        self.stop_button.setToolTip(
            "Kill the running process tree and skip what is left (Esc or Ctrl+.)"
        )
        for button in (self.run_button, self.run_all_button, self.stop_button):
            button.setEnabled(False)
            button.setMinimumHeight(34)
            run_row.addWidget(button)
        layout.addLayout(run_row)

    def quick_overrides(self) -> dict[str, Any]:
        """The overrides set (keyword arguments of ``Config.with_overrides``)."""
        return self.overrides.values()

    def reset_overrides(self) -> None:
        """Every override back to "config"."""
        self.overrides.reset()

    # -- configs list ---------------------------------------------------------------------

    def add_config(self, loaded: LoadedConfig) -> QListWidgetItem:
        """Add (or replace, for the same path) a config entry and select it."""
        item = self._item_for(loaded.path)
        if item is None:
            item = QListWidgetItem()
            item.setData(PATH_ROLE, loaded.path)
            self.config_list.addItem(item)
        item.setData(NAME_ROLE, loaded.name)
        if loaded.error is not None:
            item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
            item.setToolTip(describe_error(loaded.error))
        else:
            item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon))
            item.setToolTip(loaded.path)
        self._relabel()
        # select it alone (a programmatic current item in a multi-select list keeps the rest)
        self.config_list.setCurrentItem(item, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self._update_list_buttons()
        return item

    def remove_config(self, path: str) -> None:
        """Take a config off the list."""
        item = self._item_for(path)
        if item is not None:
            self.config_list.takeItem(self.config_list.row(item))
            self._relabel()
            self._update_list_buttons()

    def _relabel(self) -> None:
        """Each entry shows its config's name; names listed twice also show their folder."""
        items = [self.config_list.item(i) for i in range(self.config_list.count())]
        names = [str(item.data(NAME_ROLE)) for item in items]
        for item, name in zip(items, names, strict=True):
            text = name
            if names.count(name) > 1:
                text = f"{name} — {_distinct_tail(str(item.data(PATH_ROLE)), items)}"
            item.setText(text)

    def selected_paths(self) -> list[str]:
        """The selected configs' paths, top to bottom."""
        rows = sorted(self.config_list.row(item) for item in self.config_list.selectedItems())
        return [str(self.config_list.item(r).data(PATH_ROLE)) for r in rows]

    def _update_list_buttons(self) -> None:
        selected = bool(self.config_list.selectedItems())
        self.edit_button.setEnabled(len(self.config_list.selectedItems()) == 1)
        self.remove_button.setEnabled(selected)
        self.clear_button.setEnabled(self.config_list.count() > 0)

    def _item_for(self, path: str) -> QListWidgetItem | None:
        for i in range(self.config_list.count()):
            item = self.config_list.item(i)
            if item.data(PATH_ROLE) == path:
                return item
        return None

    def paths(self) -> list[str]:
        """Every listed config's path, top to bottom."""
        return [
            str(self.config_list.item(i).data(PATH_ROLE)) for i in range(self.config_list.count())
        ]

    def current_path(self) -> str | None:
        """The path of the selected config, or None."""
        item = self.config_list.currentItem()
        return None if item is None else str(item.data(PATH_ROLE))

    def set_drop_active(self, active: bool) -> None:
        """Highlight the drop zone while files are dragged over the window."""
        self.drop_zone.setProperty("active", "true" if active else "false")
        self.drop_zone.style().unpolish(self.drop_zone)
        self.drop_zone.style().polish(self.drop_zone)

    # -- frameworks -----------------------------------------------------------------------

    def set_frameworks_owner(self, name: str | None) -> None:
        """Title the frameworks box with the config its ticks belong to."""
        self.frameworks_group.setTitle(f"Frameworks for {name}" if name else "Frameworks")

    def set_frameworks(self, frameworks: list[str]) -> None:
        """Tick exactly the given frameworks that can run (without a signal per box)."""
        for fw, check in self.framework_boxes.items():
            check.blockSignals(True)
            check.setChecked(fw in frameworks and self.framework_available[fw])
            check.blockSignals(False)
        self.frameworksChanged.emit()

    def set_framework_info(self, framework: str, info: dict[str, Any] | None) -> None:
        """Show what the probe found (version, devices); a framework that cannot run is
        unticked and disabled."""
        line, tip, available = framework_text(framework, info)
        label = self.framework_info[framework]
        label.setText(line)
        label.setVisible(bool(line))
        label.setToolTip(tip)
        check = self.framework_boxes[framework]
        check.setToolTip(tip)
        self.framework_available[framework] = available
        if not available and check.isChecked():
            check.setChecked(False)
        check.setEnabled(available and not self._running)

    def checked_frameworks(self) -> list[str]:
        """The ticked frameworks, in the canonical order."""
        return [fw for fw, check in self.framework_boxes.items() if check.isChecked()]

    def set_running(self, running: bool, can_run: bool, can_run_all: bool) -> None:
        """Enable the controls that make sense while running or idle."""
        self._running = running
        self.run_button.setEnabled(can_run and not running)
        self.run_all_button.setEnabled(can_run_all and not running)
        self.stop_button.setEnabled(running)
        for fw, check in self.framework_boxes.items():
            check.setEnabled(not running and self.framework_available[fw])

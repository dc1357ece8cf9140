"""Questions the window asks: yes/no, and a choice among labelled buttons (Save / Discard /
Cancel). Both are functions the window is given, so tests answer them without a dialog."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QGridLayout,
    QMessageBox,
    QSizePolicy,
    QSpacerItem,
    QTextEdit,
    QWidget,
)

Confirm = Callable[[str, str], bool]
# (title, text, [(key, button label), ...]) -> the key of the button pressed ("cancel" on Esc)
Choose = Callable[[str, str, Sequence[tuple[str, str]]], str]

_ROLES = {
    "cancel": QMessageBox.ButtonRole.RejectRole,
    "discard": QMessageBox.ButtonRole.DestructiveRole,
}


def fit_box(box: QMessageBox, details_lines: int = 18) -> None:
    """Make a message box wide enough for its whole title (window managers cut a title to the
    window's width, and Qt adds " — FrameDuel" to it) and give its Show Details pane room for
    ``details_lines`` lines (Qt's default shows 4-5, too few for a traceback)."""
    shown = f"{box.windowTitle()} — {QApplication.applicationDisplayName()}"
    width = box.fontMetrics().horizontalAdvance(shown) + 160  # the title bar's buttons
    layout = box.layout()
    if isinstance(layout, QGridLayout):
        spacer = QSpacerItem(width, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Expanding)
        layout.addItem(spacer, layout.rowCount(), 0, 1, layout.columnCount())
    for edit in box.findChildren(QTextEdit):
        metrics = edit.fontMetrics()
        edit.setMinimumHeight(metrics.lineSpacing() * details_lines)
        edit.setMinimumWidth(metrics.averageCharWidth() * 90)


def ask_question(parent: QWidget, title: str, text: str) -> bool:
    """A Yes/No question box; True for Yes."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.Yes)
    fit_box(box)
    return box.exec() == QMessageBox.StandardButton.Yes


def ask_choice(parent: QWidget, title: str, text: str, choices: Sequence[tuple[str, str]]) -> str:
    """A question box with one button per ``(key, label)``; returns the key pressed, or
    ``cancel`` when the box is closed without a choice."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    buttons: dict[QAbstractButton, str] = {}
    for i, (key, label) in enumerate(choices):
        button = box.addButton(label, _ROLES.get(key, QMessageBox.ButtonRole.AcceptRole))
        buttons[button] = key
        if key == "cancel":
            box.setEscapeButton(button)
        if i == 0:
            box.setDefaultButton(button)
    fit_box(box)
    box.exec()
    return buttons.get(box.clickedButton(), "cancel")


def unsaved_choices(save_label: str = "Save") -> list[tuple[str, str]]:
    """Save / Discard changes / Cancel."""
    return [("save", save_label), ("discard", "Discard changes"), ("cancel", "Cancel")]

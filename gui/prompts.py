"""Questions the window asks: yes/no, and a choice among labelled buttons (Save / Discard /
Cancel). Both are functions the window is given, so tests answer them without a dialog."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QMessageBox, QWidget

Confirm = Callable[[str, str], bool]
# (title, text, [(key, button label), ...]) -> the key of the button pressed ("cancel" on Esc)
Choose = Callable[[str, str, Sequence[tuple[str, str]]], str]

_ROLES = {
    "cancel": QMessageBox.ButtonRole.RejectRole,
    "discard": QMessageBox.ButtonRole.DestructiveRole,
}


def ask_question(parent: QWidget, title: str, text: str) -> bool:
    """A Yes/No question box; True for Yes."""
    answer = QMessageBox.question(parent, title, text)
    return answer == QMessageBox.StandardButton.Yes


def ask_choice(parent: QWidget, title: str, text: str, choices: Sequence[tuple[str, str]]) -> str:
    """A question box with one button per ``(key, label)``; returns the key pressed, or
    ``cancel`` when the box is closed without a choice."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    buttons = {}
    for key, label in choices:
        role = _ROLES.get(key, QMessageBox.ButtonRole.AcceptRole)
        buttons[box.addButton(label, role)] = key
        if key == "cancel":
            box.setEscapeButton(box.buttons()[-1])
    first = box.buttons()[0] if box.buttons() else None
    if first is not None:
        box.setDefaultButton(first)  # type: ignore[arg-type]
    box.exec()
    return buttons.get(box.clickedButton(), "cancel")


def unsaved_choices(save_label: str = "Save") -> list[tuple[str, str]]:
    """Save / Discard changes / Cancel."""
    return [("save", save_label), ("discard", "Discard changes"), ("cancel", "Cancel")]

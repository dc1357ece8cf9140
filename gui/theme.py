"""Light and dark themes (and following the system's), for widgets and plots alike.

Fusion style with our own palette on every platform, so light and dark look the same under any
desktop (or none, under Xvfb). Framework colours never change with the theme: one colour per
framework everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from profiler.paths import resources_dir

THEME_CHOICES: tuple[str, ...] = ("system", "light", "dark")
THEME_LABELS: dict[str, str] = {
    "system": "Follow the system",
    "light": "Light",
    "dark": "Dark",
}


@dataclass(frozen=True)
class Theme:
    """The colours of one theme."""

    name: str
    window: str
    base: str
    alternate: str
    panel: str
    box: str
    border: str
    text: str
    muted: str
    accent: str
    accent_hover: str
    selection: str
    plot_background: str
    plot_foreground: str
    danger: str
    ok: str
    warn: str
    banner_error: tuple[str, str, str]
    banner_info: tuple[str, str, str]

    @property
    def dark(self) -> bool:
        """True for a dark theme."""
        return self.name == "dark"


LIGHT = Theme(
    name="light",
    window="#EEF0F2",
    base="#FFFFFF",
    alternate="#F7F9FB",
    panel="#F3F5F7",
    box="#FFFFFF",
    border="#D5DAE0",
    text="#1F2933",
    muted="#5A6168",
    accent="#1F3A5F",
    accent_hover="#2A4D7C",
    selection="#DCE6F2",
    plot_background="#FFFFFF",
    plot_foreground="#3A3F44",
    danger="#C62828",
    ok="#2E7D32",
    warn="#8D6E00",
    banner_error=("#FDECEA", "#E0A39C", "#7A1F17"),
    banner_info=("#EAF2FB", "#A9C4E2", "#1F3A5F"),
)
DARK = Theme(
    name="dark",
    window="#1E2227",
    base="#16191D",
    alternate="#1C2025",
    panel="#23272D",
    box="#2A2F36",
    border="#3C434C",
    text="#E3E7EB",
    muted="#A0A8B1",
    accent="#3B6EA8",
    accent_hover="#4C82C0",
    selection="#2F4A6B",
    plot_background="#16191D",
    plot_foreground="#C9CFD6",
    danger="#EF6C6C",
    ok="#7CC47F",
    warn="#E0C35A",
    banner_error=("#4A2326", "#8E3B3B", "#F6D4D2"),
    banner_info=("#1F3347", "#3E6287", "#D6E6F7"),
)


def system_is_dark() -> bool:
    """True when the desktop asks for a dark colour scheme (False when it cannot say)."""
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def resolve(choice: str) -> Theme:
    """The theme for a setting: ``light``, ``dark`` or ``system``."""
    if choice == "dark" or (choice == "system" and system_is_dark()):
        return DARK
    return LIGHT


def palette_of(theme: Theme) -> QPalette:
    """A full QPalette for the theme (Fusion draws everything from it)."""
    p = QPalette()
    role = QPalette.ColorRole
    pairs = {
        role.Window: theme.window,
        role.WindowText: theme.text,
        role.Base: theme.base,
        role.AlternateBase: theme.alternate,
        role.ToolTipBase: theme.box,
        role.ToolTipText: theme.text,
        role.PlaceholderText: theme.muted,
        role.Text: theme.text,
        role.Button: theme.box,
        role.ButtonText: theme.text,
        role.BrightText: "#FFFFFF",
        role.Highlight: theme.accent,
        role.HighlightedText: "#FFFFFF",
        role.Link: theme.accent_hover if theme.dark else theme.accent,
        role.Mid: theme.border,
        role.Midlight: theme.border,
        role.Dark: theme.border,
        role.Light: theme.box,
        role.Shadow: "#000000",
    }
    for r, color in pairs.items():
        p.setColor(r, QColor(color))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(disabled, r, QColor(theme.muted))
    return p


def style_sheet(theme: Theme) -> str:
    """The window's style sheet: panels, boxes, the Run/Stop buttons, tables."""
    t = theme
    return f"""
QWidget#sidePanel {{ background: {t.panel}; }}
QWidget#sidePanel QGroupBox {{ font-weight: 600; border: 1px solid {t.border};
    border-radius: 5px; margin-top: 14px; padding: 8px 6px 6px 6px; background: {t.box}; }}
QWidget#sidePanel QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 3px;
    color: {t.text}; }}
QWidget#sidePanel QGroupBox QWidget {{ font-weight: normal; }}
QLabel#configSummary, QLabel#frameworkInfo, QLabel#muted {{ color: {t.muted}; }}
QLabel#dropZone {{ border: 1px dashed {t.border}; border-radius: 4px; color: {t.muted};
    padding: 5px; background: {t.base}; }}
QLabel#dropZone[active="true"] {{ border: 2px dashed {t.accent}; color: {t.text}; }}
QPushButton#runButton {{ background: {t.accent}; color: white; border: none; border-radius: 4px;
    font-weight: 600; padding: 6px 14px; }}
QPushButton#runButton:hover {{ background: {t.accent_hover}; }}
QPushButton#runButton:disabled {{ background: {t.border}; color: {t.muted}; }}
QPushButton#stopButton {{ border: 1px solid {t.danger}; color: {t.danger}; border-radius: 4px;
    background: {t.box}; padding: 6px 14px; }}
QPushButton#stopButton:disabled {{ border-color: {t.border}; color: {t.muted}; }}
QLabel#paneTitle {{ font-weight: 600; color: {t.text}; padding: 2px 0; }}
QTableView {{ selection-background-color: {t.selection}; selection-color: {t.text};
    alternate-background-color: {t.alternate}; gridline-color: {t.border}; }}
QDockWidget::title {{ padding: 4px 6px; background: {t.window}; }}
QTabWidget::pane {{ border-top: 1px solid {t.border}; }}
""" + (_dark_checkboxes(t) if t.dark else "")


def _dark_checkboxes(t: Theme) -> str:
    """Fusion outlines a check box in the window colour made darker: on a dark window an
    unticked box all but vanishes. Draw the box in the muted text colour instead."""
    check = (resources_dir() / "icons" / "check.svg").as_posix()
    return f"""
QCheckBox::indicator {{ width: 13px; height: 13px; border: 1px solid {t.muted};
    border-radius: 3px; background: {t.base}; }}
QCheckBox::indicator:hover {{ border-color: {t.text}; }}
QCheckBox::indicator:checked {{ background: {t.accent}; border-color: {t.accent_hover};
    image: url("{check}"); }}
QCheckBox::indicator:disabled {{ border-color: {t.border}; background: {t.window}; }}
QCheckBox::indicator:checked:disabled {{ background: {t.border}; }}
"""


def apply(app: QApplication, theme: Theme) -> None:
    """Use the theme for the whole application (Fusion style, palette)."""
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(palette_of(theme))

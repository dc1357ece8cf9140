"""Syntax colours for config files: keys, strings, numbers, literals, comments and TOML tables."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from gui.theme import Theme

_LIGHT = {
    "key": "#1F3A5F",
    "string": "#2E7D32",
    "number": "#8E44AD",
    "literal": "#B85C00",
    "comment": "#7A8088",
    "table": "#1F3A5F",
}
_DARK = {
    "key": "#8CB8E8",
    "string": "#9CCC65",
    "number": "#CE93D8",
    "literal": "#FFB74D",
    "comment": "#8A939C",
    "table": "#8CB8E8",
}
_RULES: dict[str, list[tuple[re.Pattern[str], int]]] = {
    "yaml": [
        (re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w.-]*)\s*:(?=\s|$)"), 1),
        (re.compile(r"[{,]\s*([A-Za-z_][\w.-]*)\s*:"), 1),
    ],
    "toml": [(re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*="), 1), (re.compile(r"^\s*\[.*\]"), 0)],
    "json": [(re.compile(r"(\"[^\"\\]*(?:\\.[^\"\\]*)*\")\s*:"), 1)],
}
_STRING = re.compile(r"\"[^\"\\]*(?:\\.[^\"\\]*)*\"|'[^']*'")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
_LITERAL = re.compile(r"\b(?:true|false|null|True|False|None|yes|no)\b|~")
_COMMENT = re.compile(r"(?:^|\s)(#.*)$")


def language_of(suffix: str) -> str:
    """``yaml``, ``toml`` or ``json`` for a file suffix (YAML by default)."""
    return {".toml": "toml", ".json": "json"}.get(suffix.lower(), "yaml")


class ConfigHighlighter(QSyntaxHighlighter):
    """Colours a config's text by its language; ``set_theme`` recolours it."""

    def __init__(self, document: QTextDocument, language: str = "yaml") -> None:
        super().__init__(document)
        self.language = language
        self._formats: dict[str, QTextCharFormat] = {}
        self.set_colors(_LIGHT)

    def set_theme(self, theme: Theme) -> None:
        """Use the colours that read well on the theme's background."""
        self.set_colors(_DARK if theme.dark else _LIGHT)

    def set_colors(self, colors: dict[str, str]) -> None:
        """Set one colour per token kind and re-highlight."""
        self._formats = {}
        for kind, color in colors.items():
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(color))
            if kind in ("key", "table"):
                fmt.setFontWeight(QFont.Weight.DemiBold)
            if kind == "comment":
                fmt.setFontItalic(True)
            self._formats[kind] = fmt
        self.rehighlight()

    def set_language(self, language: str) -> None:
        """Switch to ``yaml``, ``toml`` or ``json`` and re-highlight."""
        self.language = language
        self.rehighlight()

    def token_at(self, text: str, index: int) -> str | None:
        """The token kind at ``text[index]`` (for tests), or None."""
        for kind, start, end in self.tokens(text):
            if start <= index < end:
                return kind
        return None

    def tokens(self, text: str) -> list[tuple[str, int, int]]:
        """The coloured spans of one line: (kind, start, end); later spans win."""
        spans: list[tuple[str, int, int]] = []
        for pattern, kind in ((_NUMBER, "number"), (_LITERAL, "literal"), (_STRING, "string")):
            spans += [(kind, m.start(), m.end()) for m in pattern.finditer(text)]
        for pattern, group in _RULES[self.language]:
            kind = "table" if group == 0 else "key"
            spans += [(kind, m.start(group), m.end(group)) for m in pattern.finditer(text)]
        if self.language != "json":
            comment = _COMMENT.search(text)
            if comment is not None and not _inside_string(text, comment.start(1)):
                spans.append(("comment", comment.start(1), len(text)))
        return spans

    def highlightBlock(self, text: str) -> None:
        for kind, start, end in self.tokens(text):
            self.setFormat(start, end - start, self._formats[kind])


def _inside_string(text: str, index: int) -> bool:
    return any(m.start() < index < m.end() for m in _STRING.finditer(text))

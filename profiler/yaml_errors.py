"""YAML syntax errors in plain words, at the line the user has to fix.

PyYAML reports where its parser gave up, which is often a line after the mistake (an unclosed
bracket is noticed where the next key starts; a key without ``:`` where the next one is); and
in its own terms (``expected <block end>, but found '<block mapping start>'``). This module says
what is probably wrong and where, from the parser's marks and the text itself.
"""

from __future__ import annotations

import yaml


def explain(exc: yaml.YAMLError, text: str) -> tuple[str, int | None]:
    """(what is wrong in plain words, 1-based line to fix or None) for a YAML parse error."""
    problem = str(getattr(exc, "problem", None) or exc)
    context = str(getattr(exc, "context", None) or "")
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    line = problem_mark.line + 1 if problem_mark is not None else None
    opened = context_mark.line + 1 if context_mark is not None else line
    lines = text.splitlines()

    if "'\\t'" in problem:
        return "a tab indents this line; YAML indents with spaces only", line
    if "could not find expected ':'" in problem:
        return "this line has no ':' after its key (write `key: value`)", opened
    if "quoted scalar" in context:
        return "a quote opened on this line is never closed", opened
    if "flow sequence" in context:
        return "a '[' list opened on this line is not closed with ']' (or a ',' is missing)", opened
    if "flow mapping" in context:
        return "a '{' map opened on this line is not closed with '}' (or a ',' is missing)", opened
    if "mapping values are not allowed" in problem and line is not None:
        culprit = _line_without_colon(lines, line)
        if culprit is not None:
            return "this line has no ':' after its key (write `key: value`)", culprit
        return "a second ': ' on one line: quote the value if it contains ': '", line
    if "expected <block end>" in problem or "block collection" in context:
        return (
            "the indentation does not line up with the lines above "
            "(keys of one section start in the same column)",
            line,
        )
    return f"{problem} (YAML syntax)", line


def _line_without_colon(lines: list[str], line: int) -> int | None:
    """The line before ``line`` that goes on as a plain text instead of ``key: value``: YAML
    then reads the next line as its continuation and complains only there."""
    for number in range(line - 1, 0, -1):
        text = lines[number - 1].strip() if number - 1 < len(lines) else ""
        if not text or text.startswith("#"):
            continue
        if ":" not in text and not text.startswith("-"):
            return number
        return None
    return None

"""User text made safe to print: names, paths and errors come from files, stores and children.

A config's ``name`` can hold terminal escape sequences (OSC 52 writes the clipboard, others set
the title or clear the screen) and rich markup (``[/bold]`` makes rich raise, ``[link=...]``
makes a link). What FrameDuel prints shows such text literally instead.
"""

from __future__ import annotations

from rich.markup import escape


def printable(text: object) -> str:
    """``str(text)`` on one line with every non-printable character written as an escape:
    ESC becomes ``\\x1b``, a newline ``\\n``, a right-to-left override ``\\u202e``."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def literal(text: object) -> str:
    """``printable(text)`` with rich markup escaped, for ``Console.print`` and rich tables."""
    return escape(printable(text))

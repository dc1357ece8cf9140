"""The terminal: user text made safe to print, and Ctrl+C taken where it does no harm.

Names, paths and errors come from files, stores and children. A config's ``name`` can hold
terminal escape sequences (OSC 52 writes the clipboard, others set the title or clear the
screen) and rich markup (``[/bold]`` makes rich raise, ``[link=...]`` makes a link). What
FrameDuel prints shows such text literally instead.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from rich.markup import escape


def printable(text: object) -> str:
    """``str(text)`` on one line with every non-printable character written as an escape:
    ESC becomes ``\\x1b``, a newline ``\\n``, a right-to-left override ``\\u202e``."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def literal(text: object) -> str:
    """``printable(text)`` with rich markup escaped, for ``Console.print`` and rich tables."""
    return escape(printable(text))


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl+C (SIGINT) until the block ends, then raise KeyboardInterrupt as usual.

    For imports of compiled extensions: interrupted half-way, pydantic_core's initialisation
    panics with a Rust backtrace instead of raising KeyboardInterrupt. A no-op outside the main
    thread (only it receives signals) and when SIGINT is not handled by Python.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        yield
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt

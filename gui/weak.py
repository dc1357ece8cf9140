"""Callbacks that do not keep their owner alive.

A widget that hands one of its bound methods (or a lambda over ``self``) to an object it owns
makes a reference cycle: owner → helper → method → owner. Such cycles are freed only by
Python's cyclic collector, and with them every Qt object they reach (a dashboard: about 1,200
wrappers, pyqtgraph's menus and control panels included), at whatever moment and in whatever
thread the collector happens to run. ``weakly`` hands over the method without the cycle, so the
owner is freed by reference counting when the window lets it go.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
D = TypeVar("D")


def weakly(method: Callable[P, R], default: D) -> Callable[P, R | D]:
    """``method`` (a bound method) called through a weak reference to its object: ``default``
    once that object is gone."""
    ref = weakref.WeakMethod(method)

    def call(*args: P.args, **kwargs: P.kwargs) -> R | D:
        bound = ref()
        return default if bound is None else bound(*args, **kwargs)

    return call

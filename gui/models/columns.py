"""A table's column choices without Qt: which columns the user wants, in what order and how wide
(by column name, so a column added or renamed in a later version keeps the user's other
choices), and which of them fit the room there is.

Persisted as JSON (``ColumnChoices.to_json``)::

    {"version": 1, "order": ["Framework", "Status", ...], "hidden": ["Phase"],
     "widths": {"ETA": 80}}

History of ``version``: 1, the first. A newer or unreadable value reads as the defaults.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CHOICES_VERSION = 1


@dataclass
class ColumnChoices:
    """The user's choices for the columns ``names`` (in their default order): ``hidden`` names
    are never shown, ``order`` is every name in the order shown (the first stays first),
    ``widths`` the pixels of the columns the user resized (the others fit their contents)."""

    names: tuple[str, ...]
    hidden: set[str] = field(default_factory=set)
    order: list[str] = field(default_factory=list)
    widths: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.order:
            self.order = list(self.names)

    @classmethod
    def from_json(
        cls, raw: object, names: Sequence[str], default_hidden: Collection[str] = ()
    ) -> ColumnChoices:
        """The choices ``raw`` (``to_json``'s value) holds for ``names``: unknown names are
        dropped, a column missing from the saved order goes back to its default place; the
        defaults (``default_hidden`` hidden) when ``raw`` is missing, unreadable or newer."""
        names = tuple(names)
        defaults = cls(names, set(default_hidden) & set(names))
        if not isinstance(raw, dict) or raw.get("version") != CHOICES_VERSION:
            return defaults
        hidden = raw.get("hidden")
        saved_order = raw.get("order")
        widths = raw.get("widths")
        if not isinstance(hidden, list) or not isinstance(saved_order, list):
            return defaults
        order = [n for n in dict.fromkeys(saved_order) if n in names and n != names[0]]
        for i, name in enumerate(names[1:]):  # a column new to this version: its default place
            if name not in order:
                order.insert(min(i, len(order)), name)
        return cls(
            names,
            {n for n in hidden if n in names and n != names[0]},
            [names[0], *order],
            {
                str(n): int(px)
                for n, px in (widths.items() if isinstance(widths, dict) else ())
                if n in names and isinstance(px, int) and not isinstance(px, bool) and px > 0
            },
        )

    def to_json(self) -> dict[str, Any]:
        """The choices as JSON-ready values (``from_json`` reads them back)."""
        return {
            "version": CHOICES_VERSION,
            "order": list(self.order),
            "hidden": sorted(self.hidden),
            "widths": dict(sorted(self.widths.items())),
        }


def fit_to_room(
    widths: Mapping[int, int], priority: Sequence[int], keep: Collection[int], room: int
) -> set[int]:
    """The columns to show in ``room`` pixels: those in ``keep`` whatever the room (a scroll
    bar then), then the other columns of ``widths`` (their pixels) most important first as
    ``priority`` ranks them; one that does not fit is left out, and a narrower, less important
    one may still fit after it. A column of ``widths`` missing from ``priority`` comes last."""
    ranked = sorted(widths, key=lambda c: priority.index(c) if c in priority else len(priority))
    shown = {c for c in ranked if c in keep}
    used = sum(widths[c] for c in shown)
    for col in ranked:
        if col not in shown and used + widths[col] <= room:
            shown.add(col)
            used += widths[col]
    return shown

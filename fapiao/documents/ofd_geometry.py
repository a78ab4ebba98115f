"""Where an OFD graphic object lands on its page: numbers read from attributes, and the object's
boundary origin moved by its CTM (GB/T 33190: object space -> boundary -> page millimetres)."""

from __future__ import annotations

import math
from collections.abc import Callable
from xml.etree.ElementTree import Element

_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def numbers(text: str, count: int) -> tuple[float, ...] | None:
    """The first `count` finite numbers of a space-separated list; None when there are fewer."""
    try:
        values = tuple(float(v) for v in text.split()[:count])
    except ValueError:
        return None
    return values if len(values) == count and all(math.isfinite(v) for v in values) else None


def number(text: str | None, default: float = 0.0) -> float:
    try:
        value = float(text) if text is not None else default
    except ValueError:
        return default
    return value if math.isfinite(value) else default


def placement(element: Element) -> tuple[Callable[[float, float], tuple[float, float]], float]:
    """A function from the object's own coordinates to page millimetres, and the CTM's scale (for sizes
    and line widths)."""
    bx, by = numbers(element.get("Boundary", ""), 2) or (0.0, 0.0)
    a, b, c, d, e, f = numbers(element.get("CTM", ""), 6) or _IDENTITY
    scale = math.sqrt(abs(a * d - b * c)) or 1.0
    return (lambda x, y: (bx + a * x + c * y + e, by + b * x + d * y + f)), scale

"""OFD path objects drawn into an image, for the QR codes some issuers draw as vector paths instead of an
image: no OFD renderer exists for Python, and a QR code needs only filled and stroked polygons.

A `PathObject`'s `AbbreviatedData` (GB/T 33190 §9.2: S/M move, L line, Q/B curves, A arc, C close) is
read into polygons in page millimetres (boundary origin + CTM); curves and arcs are drawn as straight
lines to their end points, which is exact for the squares a QR code is made of. Work is bounded:
MAX_PATHS objects, MAX_POINTS points, and an image of at most RENDER_PX_PER_MM x the page box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from PIL import Image as PILImage
from PIL import ImageDraw
from PIL.Image import Image

from fapiao.documents.ofd_geometry import number, numbers, placement

MAX_PATHS = 20_000
MAX_POINTS = 200_000
RENDER_PX_PER_MM = 8.0  # a 20 mm QR code of 33 modules gets ~5 px per module
MAX_PAGE_MM = 600.0  # a page side longer than this is not drawn (A2 is 594 mm)
_ARGS = {"S": 2, "M": 2, "L": 2, "Q": 4, "B": 6, "A": 7, "C": 0}


@dataclass(frozen=True)
class DrawnPath:
    polygons: tuple[tuple[tuple[float, float], ...], ...]  # page millimetres
    fill: bool
    stroke: bool
    width: float  # line width, mm
    gray: int  # 0 black … 255 white (of the fill, or of the stroke when not filled)


def drawn_path(element: Element) -> DrawnPath | None:
    """The path as drawn on the page; None when it draws nothing."""
    data = next((e.text or "" for e in element if e.tag.rsplit("}", 1)[-1] == "AbbreviatedData"), "")
    fill = element.get("Fill", "false").lower() == "true"
    stroke = element.get("Stroke", "true").lower() != "false"
    if not data.strip() or not (fill or stroke):
        return None
    place, scale = placement(element)
    polygons = []
    current: list[tuple[float, float]] = []
    tokens = data.split()
    i = 0
    while i < len(tokens):
        op = tokens[i].upper()
        count = _ARGS.get(op)
        if count is None:
            return None  # not path data we know: draw nothing rather than something wrong
        values = numbers(" ".join(tokens[i + 1 : i + 1 + count]), count) if count else ()
        if values is None:
            return None
        i += 1 + count
        if op in ("S", "M"):
            if len(current) > 1:
                polygons.append(tuple(current))
            current = []
        if op == "C":
            if len(current) > 1:
                polygons.append(tuple(current))
            current = []
            continue
        current.append(place(values[-2], values[-1]))  # every operator ends at its last point
    if len(current) > 1:
        polygons.append(tuple(current))
    if not polygons:
        return None
    color = _color(element, "FillColor" if fill else "StrokeColor")
    width = number(element.get("LineWidth"), 0.353) * scale
    return DrawnPath(tuple(polygons), fill, stroke, width, color)


def render(paths: list[DrawnPath], width_mm: float, height_mm: float) -> Image | None:
    """The paths drawn in gray on white at RENDER_PX_PER_MM; None for a page too large or too complex."""
    if not (0 < width_mm <= MAX_PAGE_MM and 0 < height_mm <= MAX_PAGE_MM):
        return None
    if len(paths) > MAX_PATHS or sum(len(p) for path in paths for p in path.polygons) > MAX_POINTS:
        return None
    k = RENDER_PX_PER_MM
    image = PILImage.new("L", (math.ceil(width_mm * k), math.ceil(height_mm * k)), 255)
    draw_paths(ImageDraw.Draw(image), paths, k)
    return image


def draw_paths(draw: ImageDraw.ImageDraw, paths: list[DrawnPath], px_per_mm: float) -> None:
    """The paths drawn in gray at px_per_mm (on an "L" image, or an "RGB" one: the page preview)."""
    k = px_per_mm
    rgb = draw.mode == "RGB"
    for path in paths:
        ink = (path.gray,) * 3 if rgb else path.gray
        for polygon in path.polygons:
            points = [(x * k, y * k) for x, y in polygon]
            if path.fill and len(points) > 2:
                draw.polygon(points, fill=ink)
            elif path.stroke:
                draw.line(points, fill=ink, width=max(1, round(path.width * k)))


def _color(element: Element, name: str) -> int:
    """The color's gray level (mean of the components); black when none is given."""
    for child in element:
        if child.tag.rsplit("}", 1)[-1] == name:
            values = [v for v in (number(p, -1.0) for p in (child.get("Value") or "").split()) if v >= 0]
            if values:
                return max(0, min(255, round(sum(values) / len(values))))
    return 0

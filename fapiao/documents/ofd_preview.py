"""The first page of an OFD drawn into an image, for the reviewer (the PDF preview's counterpart).

No OFD renderer exists for Python, so the page is drawn from what `ofd_package` already reads: white
page of the first PhysicalBox, the template pages' and the page's path objects (template first), the
images the page draws scaled into their Boundary (the QR code, the seal), and each text object's text
at its first TextCode's baseline in a CJK font found on the machine (Pillow's default font if none).
It is a likeness, not a faithful rendering: no clipping, no font from the package, no character
spacing (DeltaX), no colour for text or paths (gray), curves drawn as straight lines.

Work is bounded: at most MAX_PREVIEW_PIXELS (a bigger PhysicalBox is drawn smaller), at most
MAX_DRAWN_IMAGES images each under qr_image.MAX_IMAGE_PIXELS, and the object limits of `ofd_package` and
`ofd_paths`; time and memory by the pool worker that runs it.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont
from PIL.Image import Image

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.ofd_package import OfdPackage, read_package
from fapiao.documents.ofd_paths import MAX_PATHS, MAX_POINTS, draw_paths
from fapiao.documents.ofd_reader import OFD_LIMITS
from fapiao.documents.qr_image import MAX_IMAGE_PIXELS
from fapiao.documents.safe_zip import SafeZip

PREVIEW_PX_PER_MM = 108 / 25.4  # the PDF preview's 108 dpi
MAX_PREVIEW_PIXELS = 4_000_000  # an A3 page at 108 dpi is 2.3 Mpx
MAX_DRAWN_IMAGES = 12
_FONTS = (  # what deploy/local/tools.sh installs (fapiao.demo.documents uses the same WenQuanYi)
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)
_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def ofd_page_image(data: bytes) -> Image | None:
    """The first page as an RGB image; None for a package that cannot be read or a page with no size."""
    try:
        with SafeZip(io.BytesIO(data), OFD_LIMITS) as archive:
            package = read_package(archive)
            pictures = [
                (_picture(archive.read(path)), box) for path, box in package.page_images[:MAX_DRAWN_IMAGES]
            ]
    except (DocumentError, OSError, ValueError, KeyError, EOFError):
        return None
    return draw_page(package, pictures)


def draw_page(package: OfdPackage, pictures: list[tuple[Image | None, tuple[float, ...]]]) -> Image | None:
    width_mm, height_mm = package.page_mm
    if not (math.isfinite(width_mm) and math.isfinite(height_mm)) or width_mm <= 0 or height_mm <= 0:
        return None
    k = min(PREVIEW_PX_PER_MM, math.sqrt(MAX_PREVIEW_PIXELS / (width_mm * height_mm)))
    size = (max(1, math.floor(width_mm * k)), max(1, math.floor(height_mm * k)))
    image = PILImage.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    paths = package.paths
    if len(paths) <= MAX_PATHS and sum(len(p) for path in paths for p in path.polygons) <= MAX_POINTS:
        draw_paths(draw, paths, k)
    for picture, (x, y, w, h) in pictures:
        box = (round(w * k), round(h * k))
        if picture is not None and 0 < box[0] <= size[0] and 0 < box[1] <= size[1]:
            image.paste(picture.resize(box), (round(x * k), round(y * k)))
    for text in package.texts[: package.first_page_texts]:
        piece = text.piece
        font = _font(max(4, min(200, round(piece.size * k))))
        try:
            draw.text((piece.x * k, piece.y * k), piece.text, fill="black", font=font, anchor="ls")
        except (ValueError, OSError):  # a font that cannot place by baseline: its top-left instead
            draw.text((piece.x * k, (piece.y - piece.size) * k), piece.text, fill="black", font=font)
    return image


def _picture(data: bytes) -> Image | None:
    """An image resource decoded as RGB (white behind transparency); None when not one, or too big."""
    try:
        with PILImage.open(io.BytesIO(data), formats=_FORMATS) as opened:
            if opened.size[0] * opened.size[1] > MAX_IMAGE_PIXELS:
                return None
            picture = opened.convert("RGBA")
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError, EOFError):
        return None
    background = PILImage.new("RGBA", picture.size, "white")
    return PILImage.alpha_composite(background, picture).convert("RGB")


@lru_cache(maxsize=64)
def _font(pixels: int) -> Font:
    for path in _FONTS:
        if path.is_file():
            try:
                return ImageFont.truetype(str(path), pixels)
            except OSError:
                continue
    return ImageFont.load_default(pixels)

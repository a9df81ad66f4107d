"""De-identified previews of study images for the review page (pixels only, no tags)."""

from __future__ import annotations

import io

from PIL import Image

from rag.domain import DecodedImage

MAX_SIDE = 1024


def preview_png(image: DecodedImage, max_side: int = MAX_SIDE) -> bytes:
    """The decoded frame as a PNG at most `max_side` pixels on its longer side."""
    im = Image.fromarray(image.pixels)
    im.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return buf.getvalue()

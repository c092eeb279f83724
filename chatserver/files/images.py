"""Images are re-encoded before they are kept: only pixels survive (no EXIF, no GPS, no
comments, nothing appended after the image data), and each gets a small WebP thumbnail.

Pillow decodes; the pixel count is checked from the header before any pixel is decoded, so a
small file that claims a huge canvas (a decompression bomb) is refused cheaply.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from chatserver.core.errors import CodedError

THUMB_SIDE = 320
_FORMATS = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP"}


class ImageRefused(CodedError):
    """Not an image Pillow can decode safely: ``code`` is the protocol's error code."""


@dataclass(frozen=True, slots=True)
class Clean:
    data: bytes
    width: int
    height: int
    thumb: bytes


def reencode(data: bytes, kind: str, max_pixels: int) -> Clean:
    """The image ``data`` (of sniffed type ``kind``: png, jpeg, gif, webp) re-encoded in its
    own format, and its thumbnail. CPU-bound: call it in a thread."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels or width < 1 or height < 1:
                raise ImageRefused("file_image_too_large", "the image has too many pixels")
            frames = getattr(img, "n_frames", 1)
            if width * height * frames > 4 * max_pixels:
                raise ImageRefused("file_image_too_large", "the animation has too many pixels")
            img.load()
            out = io.BytesIO()
            fmt = _FORMATS[kind]
            if frames > 1 and fmt in ("GIF", "WEBP"):
                img.save(out, fmt, save_all=True, loop=img.info.get("loop", 0))
            else:
                single = ImageOps.exif_transpose(img)
                width, height = single.size
                if fmt == "JPEG":
                    single.convert("RGB").save(out, fmt, quality=88, optimize=True)
                else:
                    single.save(out, fmt, optimize=fmt == "PNG")
                img = single
            return Clean(out.getvalue(), width, height, _thumbnail(img))
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("file_image_too_large", "the image has too many pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise ImageRefused("file_type_refused", "the image cannot be read") from None


def _thumbnail(img: Image.Image) -> bytes:
    img.seek(0)
    thumb = img.convert("RGBA" if _has_alpha(img) else "RGB")
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    out = io.BytesIO()
    thumb.save(out, "WEBP", quality=80)
    return out.getvalue()


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)

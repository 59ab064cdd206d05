"""Turn an uploaded file into a model input: PNG or JPEG, at most 1 MB, resized to 112 × 112 as the seed does."""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from torch import Tensor

from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.image.model import IMAGE_SIZE

__all__ = ["ALLOWED_FORMATS", "MAX_UPLOAD_BYTES", "MAX_UPLOAD_PIXELS", "parse_upload"]

MAX_UPLOAD_BYTES = 1024 * 1024
MAX_UPLOAD_PIXELS = 4096 * 4096  # a 1 MB file can claim far larger dimensions (a "decompression bomb")
ALLOWED_FORMATS = ("PNG", "JPEG")
TOO_LARGE = N_("{name} claims dimensions too large to open safely")


def parse_upload(data: bytes, *, name: str | None = None) -> Tensor:
    """``(3, 112, 112)`` float32 in [0, 1] from PNG/JPEG bytes; a ``ValueError`` names what is wrong otherwise.

    Transparency is dropped (composited on white), greyscale and palette images become RGB, and the image is
    resized to 112 × 112 without keeping its aspect ratio (the seed's ``img.resize((112, 112))``).
    """
    from PIL import Image, UnidentifiedImageError

    name = _("the file") if name is None else name
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"{name}: expected the file's bytes, got {type(data).__name__}")  # a caller's mistake
    data = bytes(data)
    if not data:
        raise ValueError(_("{name} is empty").format(name=name))
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(
            _("{name} is {size:,} bytes; at most {limit:,} (1 MB) are accepted").format(
                name=name, size=len(data), limit=MAX_UPLOAD_BYTES
            )
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise ValueError(
                _("{name} is not an image Pillow can read (expected PNG or JPEG)").format(name=name)
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValueError(_(TOO_LARGE).format(name=name)) from None
        if image.format not in ALLOWED_FORMATS:
            raise ValueError(
                _("{name} is a {format} image; only PNG and JPEG are accepted").format(name=name, format=image.format)
            )
        width, height = image.size
        if width < 1 or height < 1 or width * height > MAX_UPLOAD_PIXELS:
            raise ValueError(
                _("{name} is {width} × {height} pixels; at most {limit:,} pixels (4096 × 4096) are accepted").format(
                    name=name, width=width, height=height, limit=MAX_UPLOAD_PIXELS
                )
            )
        if getattr(image, "is_animated", False) or getattr(image, "n_frames", 1) > 1:
            raise ValueError(
                _("{name} is animated ({frames} frames); upload a still image").format(
                    name=name, frames=getattr(image, "n_frames", "?")
                )
            )
        try:
            image.load()
        except (OSError, SyntaxError, ValueError) as error:
            raise ValueError(_("{name} is corrupt or truncated: {error}").format(name=name, error=error)) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValueError(_(TOO_LARGE).format(name=name)) from None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    image = image.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE))
    array = np.asarray(image, dtype=np.float32) / 255.0  # (112, 112, 3), as torchvision's ToTensor
    return torch.from_numpy(array.transpose(2, 0, 1).copy())  # (3, 112, 112)

"""A generated image data set: one shape per image on a noisy, textured background, with its pixel mask.

Seed 003 trains its CNN on a bird photo folder that is not available; these shapes play its part. Every image is
``SIZE × SIZE`` RGB in [0, 1], holds one shape of a random size, colour and position, and comes with the boolean
mask of the shape's pixels, so "does attention land on the object?" has an exact answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from attnviz.i18n import N_

__all__ = ["CLASSES", "SIZE", "ShapeSet", "draw_shape_mask", "make_shapes", "shape_splits"]

# class names: English catalog messages (the page shows ``_(name)``); the code compares the English names
CLASSES: tuple[str, ...] = (N_("circle"), N_("square"), N_("triangle"), N_("cross"))
SIZE = 112  # the seed resizes its images to 112 × 112
MIN_RADIUS, MAX_RADIUS = 16, 30  # half the shape's extent, in pixels
MAX_IMAGES = 20_000
TEXTURE = 0.25


@dataclass(frozen=True)
class ShapeSet:
    """``n`` generated images with their labels, masks and the parameters each shape was drawn with."""

    images: Tensor  # (n, 3, SIZE, SIZE) float32 in [0, 1]
    labels: Tensor  # (n,) int64, an index into CLASSES
    masks: Tensor  # (n, SIZE, SIZE) bool, True on the shape's pixels
    centers: Tensor  # (n, 2) int64: (row, col) of the shape's centre
    radii: Tensor  # (n,) int64: half the shape's extent
    colours: Tensor  # (n, 3) float32: the shape's RGB colour before noise
    seed: int

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def class_name(self, index: int) -> str:
        return CLASSES[int(self.labels[index])]


def draw_shape_mask(kind: str, center: tuple[int, int], radius: int, size: int = SIZE) -> np.ndarray:
    """The ``(size, size)`` boolean mask of one shape centred at ``(row, col)`` with half-extent ``radius``.

    circle: the disc of that radius; square: side ``2·radius``; triangle: apex up, base ``2·radius`` wide;
    cross: two bars of length ``2·radius`` and width ``2·radius/3``.
    """
    if kind not in CLASSES:
        raise ValueError(f"kind must be one of {CLASSES}, got {kind!r}")
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    dy, dx = rows - center[0], cols - center[1]
    r = float(radius)
    if kind == "circle":
        return dx * dx + dy * dy <= r * r
    if kind == "square":
        return (np.abs(dx) <= r - 0.5) & (np.abs(dy) <= r - 0.5)
    if kind == "triangle":
        # apex (−r, 0), base corners (r, ±r): inside when below the apex row's two sloping sides
        return (dy <= r - 0.5) & (np.abs(dx) <= (dy + r) / 2.0)
    half_width = r / 3.0
    return ((np.abs(dx) <= r - 0.5) & (np.abs(dy) <= half_width)) | (
        (np.abs(dy) <= r - 0.5) & (np.abs(dx) <= half_width)
    )


def _background(rng: np.random.Generator, size: int, texture: float) -> np.ndarray:
    """Mid grey plus ``texture`` × (a smooth random colour field — a 5 × 5 grid of colours, bilinearly upsampled —
    and fine stripes at a random angle): (3, size, size)."""
    grid = rng.uniform(0.25, 0.75, size=(3, 5, 5))
    base = torch.nn.functional.interpolate(
        torch.from_numpy(grid)[None], size=(size, size), mode="bilinear", align_corners=True
    )[0].numpy()
    rows, cols = np.mgrid[0:size, 0:size]
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(5.0, 12.0)
    stripes = 0.06 * np.sin(2 * np.pi * (rows * np.sin(angle) + cols * np.cos(angle)) / period)
    return 0.5 + texture * (base - 0.5 + stripes[None])


def _shape_colour(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    """A random colour at least 0.45 away (Euclidean RGB) from the background's mean colour."""
    mean = background.reshape(3, -1).mean(axis=1)
    for _ in range(100):
        colour = rng.uniform(0.0, 1.0, size=3)
        if np.linalg.norm(colour - mean) >= 0.45:
            return colour
    return np.where(mean > 0.5, 0.0, 1.0)  # the far corner of the colour cube


def make_shapes(n: int, *, seed: int = 0, noise: float = 0.06, texture: float = TEXTURE, size: int = SIZE) -> ShapeSet:
    """``n`` images, classes in turn (balanced) then shuffled, reproducible from ``seed``.

    ``noise`` is the standard deviation of the per-pixel Gaussian noise over everything; ``texture`` scales the
    background's colour field and stripes (0: plain grey; 1: strong colours — much slower to learn, see README).
    """
    n = int(n)
    if not 1 <= n <= MAX_IMAGES:
        raise ValueError(f"n={n} must be between 1 and {MAX_IMAGES}")
    if not 0.0 <= float(noise) <= 0.5:
        raise ValueError(f"noise={noise} must be between 0 and 0.5")
    if not 0.0 <= float(texture) <= 1.0:
        raise ValueError(f"texture={texture} must be between 0 and 1")
    rng = np.random.default_rng(int(seed))
    labels = rng.permutation(np.arange(n) % len(CLASSES))
    images = np.empty((n, 3, size, size), dtype=np.float32)
    masks = np.empty((n, size, size), dtype=bool)
    centers = np.empty((n, 2), dtype=np.int64)
    radii = np.empty(n, dtype=np.int64)
    colours = np.empty((n, 3), dtype=np.float32)
    for i, label in enumerate(labels):
        radius = int(rng.integers(MIN_RADIUS, MAX_RADIUS + 1))
        center = (int(rng.integers(radius, size - radius)), int(rng.integers(radius, size - radius)))
        mask = draw_shape_mask(CLASSES[label], center, radius, size)
        image = _background(rng, size, float(texture))
        colour = _shape_colour(rng, image)
        image[:, mask] = colour[:, None]
        image += rng.normal(0.0, noise, size=image.shape)
        images[i] = np.clip(image, 0.0, 1.0)
        masks[i], centers[i], radii[i], colours[i] = mask, center, radius, colour
    return ShapeSet(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels.astype(np.int64)),
        masks=torch.from_numpy(masks),
        centers=torch.from_numpy(centers),
        radii=torch.from_numpy(radii),
        colours=torch.from_numpy(colours),
        seed=int(seed),
    )


def shape_splits(n_train: int, n_test: int, *, seed: int = 0) -> tuple[ShapeSet, ShapeSet]:
    """A training set and a held-out set drawn from different streams (``seed`` and ``seed + 1_000_003``)."""
    return make_shapes(n_train, seed=seed), make_shapes(n_test, seed=int(seed) + 1_000_003)

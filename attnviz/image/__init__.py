"""Attention over an image: seed 003's CNN with self-attention on its 20 × 20 feature map, a generated shapes data
set with object masks, training, attention maps placed on the image, and upload parsing. Pure (no streamlit)."""

from attnviz.image.data import CLASSES, ShapeSet, draw_shape_mask, make_shapes, shape_splits
from attnviz.image.maps import (
    CELL_EDGES,
    ObjectAttention,
    QueryMap,
    cell_fraction,
    object_attention,
    pixel_to_position,
    position_center,
    query_map,
    received_attention,
    upsample,
)
from attnviz.image.model import GRID, IMAGE_SIZE, SEED_WIDTHS, CNNWithAttention, ImageTrace, LayerSize, layer_sizes
from attnviz.image.train import (
    DEFAULT_WIDTHS,
    Progress,
    Snapshot,
    TrainConfig,
    TrainResult,
    evaluate,
    load_model,
    model_from_bytes,
    model_to_bytes,
    save_model,
    train,
)
from attnviz.image.upload import MAX_UPLOAD_BYTES, parse_upload

__all__ = [
    "CELL_EDGES",
    "CLASSES",
    "DEFAULT_WIDTHS",
    "GRID",
    "IMAGE_SIZE",
    "MAX_UPLOAD_BYTES",
    "SEED_WIDTHS",
    "CNNWithAttention",
    "ImageTrace",
    "LayerSize",
    "ObjectAttention",
    "Progress",
    "QueryMap",
    "ShapeSet",
    "Snapshot",
    "TrainConfig",
    "TrainResult",
    "cell_fraction",
    "draw_shape_mask",
    "evaluate",
    "layer_sizes",
    "load_model",
    "make_shapes",
    "model_from_bytes",
    "model_to_bytes",
    "object_attention",
    "parse_upload",
    "pixel_to_position",
    "position_center",
    "query_map",
    "received_attention",
    "save_model",
    "shape_splits",
    "train",
    "upsample",
]

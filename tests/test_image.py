"""attnviz.image: seed 003's CNN with attention, the shapes data set, maps, training, save/load and uploads.

References are independent of the code under test: torch's own nn.MultiheadAttention, the seed's printed shape
comments, Pillow's drawing of the same shapes, gradients through a copy of the layer geometry.
"""

from __future__ import annotations

import io
import json
import struct
import time
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from torch import nn

from attnviz import i18n
from attnviz.image import (
    CELL_EDGES,
    CLASSES,
    GRID,
    SEED_WIDTHS,
    CNNWithAttention,
    TrainConfig,
    calibrate_batchnorm,
    cell_fraction,
    draw_shape_mask,
    load_model,
    make_shapes,
    model_from_bytes,
    model_to_bytes,
    object_attention,
    parse_upload,
    pixel_to_position,
    position_center,
    query_map,
    received_attention,
    save_model,
    shape_splits,
    train,
    upsample,
)
from attnviz.image.figures import attention_overlay_figure, image_grid_figure
from attnviz.image.job import TrainingJob
from attnviz.image.maps import FIELD, STRIDE
from attnviz.image.model import layer_sizes
from attnviz.image.views import OVERLAY_SIZE, image_attention_view, map_sentence, overlay_caption, prediction_sentence

TINY = (4, 4, 8, 8, 8)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def shapes():
    return make_shapes(24, seed=5)


# --- the model ---------------------------------------------------------------------------------------------------


def test_every_layer_matches_the_seeds_shape_comments():
    """Seed 003: conv layers → [1, 256, 20, 20]; permute → [1, 20, 20, 256]; reshape → [1, 400, 256]; attention
    → [1, 400, 256]; flatten → [1, 400 * 256]; fc → [1, num_classes] (its model has 6 classes)."""
    model = CNNWithAttention(6, widths=SEED_WIDTHS).eval()
    x = torch.randn(1, 3, 112, 112, generator=torch.Generator().manual_seed(0))
    expected = [row.shape for row in layer_sizes(SEED_WIDTHS, 6)]
    assert expected[0] == (3, 112, 112)
    seen = [tuple(x.shape[1:])]
    h = x
    with torch.no_grad():
        for layer in model.conv_layers:
            h = layer(h)
            if not isinstance(layer, nn.BatchNorm2d | nn.ReLU):
                seen.append(tuple(h.shape[1:]))
        assert seen == expected[:8]
        assert [s[1] for s in seen] == [112, 110, 55, 53, 26, 24, 22, 20]
        trace = model(x)
    assert tuple(trace.feature_map.shape) == (1, 256, 20, 20)
    assert tuple(trace.tokens.shape) == (1, 400, 256) == (1, *expected[8])
    assert tuple(trace.attention.output.shape) == (1, 400, 256) == (1, *expected[9])
    assert tuple(trace.attention.weights.shape) == (1, 4, 400, 400)
    assert tuple(trace.flat.shape) == (1, 400 * 256) == (1, *expected[10])
    assert tuple(trace.logits.shape) == (1, 6) == (1, *expected[11])
    assert model.parameter_counts()["classifier"] == 400 * 256 * 6 + 6


def test_tokens_are_the_map_positions_in_row_major_order():
    model = CNNWithAttention(4, widths=TINY).eval()
    x = torch.rand(2, 3, 112, 112, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        trace = model(x)
    for r, c in [(0, 0), (0, 19), (7, 3), (19, 19)]:
        torch.testing.assert_close(trace.tokens[:, r * 20 + c], trace.feature_map[:, :, r, c])


def test_model_against_torch_multihead_attention_and_a_plain_forward():
    """The trace's weights and logits against nn.MultiheadAttention (same weights, per-head weights) and a forward
    written out like the seed's (permute, reshape, attention, reshape, fc)."""
    model = CNNWithAttention(4, widths=(4, 4, 8, 8, 16), num_heads=4, seed=3).eval()
    x = torch.rand(2, 3, 112, 112, generator=torch.Generator().manual_seed(2))
    reference = model.attention.to_torch(batch_first=True)
    with torch.no_grad():
        trace = model(x)
        fmap = model.conv_layers(x)  # (2, 16, 20, 20)
        seq = fmap.permute(0, 2, 3, 1).reshape(2, -1, fmap.shape[1])  # (2, 400, 16)
        out, weights = reference(seq, seq, seq, need_weights=True, average_attn_weights=False)
        logits = model.fc(out.reshape(2, -1))
    torch.testing.assert_close(trace.attention.weights, weights, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(trace.attention.output, out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(trace.logits, logits, rtol=1e-5, atol=1e-5)
    assert not model.attention.has_bias  # the seed's W_Q, W_K, W_V and output linear have bias=False


def test_same_seed_same_model_and_global_rng_untouched():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = CNNWithAttention(4, widths=TINY, seed=7)
    after = torch.rand(1)
    b = CNNWithAttention(4, widths=TINY, seed=7)
    c = CNNWithAttention(4, widths=TINY, seed=8)
    assert torch.equal(before, after)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.fc.weight, c.fc.weight)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_classes": 1}, "num_classes=1"),
        ({"num_classes": 4, "widths": (8, 8, 8, 8)}, "5 conv widths"),
        ({"num_classes": 4, "widths": (4, 4, 8, 8, 10), "num_heads": 4}, "not divisible by num_heads=4"),
    ],
)
def test_model_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CNNWithAttention(**kwargs)


def test_input_shape_is_checked():
    model = CNNWithAttention(4, widths=TINY)
    with pytest.raises(ValueError, match=r"\(B, 3, 112, 112\), got \(1, 3, 64, 64\)"):
        model(torch.zeros(1, 3, 64, 64))


def test_receptive_field_geometry_by_gradient():
    """Copy the model's layer geometry with all-ones convs and average pools (max-pool's gradient is sparse): the
    input pixels that reach map position (r, c) are rows/cols 4r … 4r + 33, centred on position_center(r)."""
    model = CNNWithAttention(4, widths=TINY)
    layers = []
    for layer in model.conv_layers:
        if isinstance(layer, nn.Conv2d):
            conv = nn.Conv2d(1, 1, layer.kernel_size, stride=layer.stride, padding=layer.padding, bias=False)
            nn.init.ones_(conv.weight)
            layers.append(conv)
        elif isinstance(layer, nn.MaxPool2d):
            layers.append(nn.AvgPool2d(layer.kernel_size, layer.stride))
    geometry = nn.Sequential(*layers)
    for r in (0, 9, 19):
        x = torch.ones(1, 1, 112, 112, requires_grad=True)
        out = geometry(x)
        assert tuple(out.shape) == (1, 1, GRID, GRID)
        out[0, 0, r, r].backward()
        rows = torch.nonzero(x.grad[0, 0].sum(dim=1)).flatten()
        assert (int(rows.min()), int(rows.max())) == (STRIDE * r, STRIDE * r + FIELD - 1)
        assert (int(rows.min()) + int(rows.max())) / 2 == position_center(r)
        assert pixel_to_position(position_center(r)) == r


# --- attention maps ----------------------------------------------------------------------------------------------


def test_query_map_and_received_attention_against_the_weights(shapes):
    model = CNNWithAttention(4, widths=TINY).eval()
    with torch.no_grad():
        trace = model(shapes.images[:2])
    w = trace.attention.weights.double()  # (2, 4, 400, 400)
    qm = query_map(trace, 5, 11, batch=1)
    assert qm.per_head.shape == (4, 20, 20)
    for h in range(4):
        for r, c in [(0, 0), (5, 11), (19, 3)]:
            assert qm.per_head[h, r, c] == pytest.approx(float(w[1, h, 5 * 20 + 11, r * 20 + c]), abs=1e-12)
    np.testing.assert_allclose(qm.per_head.sum(axis=(1, 2)), 1.0, atol=1e-5)
    np.testing.assert_allclose(qm.mean, qm.per_head.mean(axis=0))
    received = received_attention(trace, batch=0)
    assert received.shape == (5, 20, 20)
    manual = np.array([[float(w[0, 2, :, r * 20 + c].sum()) / 400 for c in range(20)] for r in range(20)])
    np.testing.assert_allclose(received[2], manual, atol=1e-9)
    np.testing.assert_allclose(received.sum(axis=(1, 2)), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="row=20"):
        query_map(trace, 20, 0)
    with pytest.raises(ValueError, match="batch=2"):
        query_map(trace, 0, 0, batch=2)


def test_upsample_places_each_position_at_its_window_centre():
    one_hot = np.zeros((20, 20))
    one_hot[3, 12] = 1.0
    image = upsample(one_hot)
    assert image.shape == (112, 112)
    # position 3's centre is pixel 28.5 and position 12's is 64.5: the two pixels either side share the peak
    peak = np.unravel_index(np.argmax(image), image.shape)
    assert peak[0] in (28, 29) and peak[1] in (64, 65)
    assert image[28, 64] == pytest.approx(0.875**2)  # 0.125 of the way from centre 28.5 to 24.5 … (1 − 0.125)²
    np.testing.assert_allclose(upsample(np.full((2, 20, 20), 0.3)), 0.3)
    with pytest.raises(ValueError, match=r"\(20, 20\)"):
        upsample(np.zeros((10, 10)))


def test_cells_partition_the_image():
    edges = np.asarray(CELL_EDGES)
    assert edges[0] == -0.5 and edges[-1] == 111.5 and len(edges) == 21
    assert np.all(np.diff(edges[1:-1]) == STRIDE)
    np.testing.assert_allclose(cell_fraction(np.ones((112, 112), bool)), 1.0)
    mask = np.zeros((112, 112), bool)
    mask[23:27, 35:39] = True  # exactly cell (2, 5): pixels 22.5 … 26.5 and 34.5 … 38.5
    frac = cell_fraction(mask)
    assert frac[2, 5] == 1.0 and frac.sum() == 1.0


def test_object_attention_of_uniform_weights_is_chance(shapes):
    weights = torch.full((3, 2, 400, 400), 1 / 400)
    result = object_attention(weights, shapes.masks[:3])
    assert result.from_object_queries == pytest.approx(result.chance)
    assert result.received == pytest.approx(result.chance)
    # all weight on the object's cells → 1
    frac = torch.from_numpy(cell_fraction(shapes.masks[:3].numpy())).reshape(3, 400)
    focused = (frac == 1.0).float()
    focused = (focused / focused.sum(-1, keepdim=True)).reshape(3, 1, 1, 400).expand(3, 2, 400, 400)
    assert object_attention(focused, shapes.masks[:3]).from_object_queries == pytest.approx(1.0)


# --- the data set ------------------------------------------------------------------------------------------------


def _pil_mask(kind: str, center, radius: int) -> np.ndarray:
    """The same shape drawn by Pillow's ImageDraw (an independent rasteriser)."""
    canvas = Image.new("L", (112, 112), 0)
    draw = ImageDraw.Draw(canvas)
    row, col, r = center[0], center[1], radius
    if kind == "circle":
        draw.ellipse([col - r, row - r, col + r, row + r], fill=1)
    elif kind == "square":
        draw.rectangle([col - r + 1, row - r + 1, col + r - 1, row + r - 1], fill=1)
    elif kind == "triangle":
        draw.polygon([(col, row - r), (col - r, row + r), (col + r, row + r)], fill=1)
    else:
        w = r / 3
        draw.rectangle([col - r + 1, row - w, col + r - 1, row + w], fill=1)
        draw.rectangle([col - w, row - r + 1, col + w, row + r - 1], fill=1)
    return np.asarray(canvas, dtype=bool)


def test_masks_match_pillows_drawing_of_the_label(shapes):
    for i in range(len(shapes)):
        kind = shapes.class_name(i)
        mask = shapes.masks[i].numpy()
        center, radius = shapes.centers[i].tolist(), int(shapes.radii[i])
        iou = {
            k: (mask & _pil_mask(k, center, radius)).sum() / (mask | _pil_mask(k, center, radius)).sum()
            for k in CLASSES
        }
        assert iou[kind] > 0.9, (i, kind, iou)
        assert max(iou, key=iou.get) == kind


def test_images_show_the_masked_shape_in_its_colour(shapes):
    for i in range(len(shapes)):
        image, mask, colour = shapes.images[i], shapes.masks[i], shapes.colours[i]
        inside = image[:, mask]  # (3, pixels)
        assert (inside.mean(dim=1) - colour).abs().max() < 0.05  # noise averages out
        ring = torch.from_numpy(np.roll(mask.numpy(), 3, axis=0) & ~mask.numpy())  # just below the shape
        if ring.sum() > 20:
            outside = image[:, ring].mean(dim=1)
            assert torch.linalg.vector_norm(outside - colour) > 0.2


def test_data_set_is_balanced_reproducible_and_split():
    a = make_shapes(40, seed=9)
    b = make_shapes(40, seed=9)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert torch.bincount(a.labels, minlength=4).tolist() == [10, 10, 10, 10]
    assert a.images.shape == (40, 3, 112, 112) and float(a.images.min()) >= 0 and float(a.images.max()) <= 1
    train_set, test_set = shape_splits(8, 8, seed=9)
    assert not torch.equal(train_set.images, test_set.images)
    with pytest.raises(ValueError, match="n=0"):
        make_shapes(0)
    with pytest.raises(ValueError, match="kind must be one of"):
        draw_shape_mask("star", (50, 50), 10)


# --- training and save/load --------------------------------------------------------------------------------------


def test_short_training_lowers_the_loss_and_is_deterministic(shapes):
    config = TrainConfig(epochs=6, batch_size=8, lr=3e-3, seed=1, snapshot_every=6)
    seen = []
    model = CNNWithAttention(4, widths=TINY, seed=0)
    result = train(model, shapes, shapes, config, progress=seen.append)
    assert len(result.losses) == 18 == len(seen) and seen[-1].step == 18 and seen[-1].total_steps == 18
    first, last = np.mean(result.losses[:3]), np.mean(result.losses[-3:])
    assert last < first - 0.1, result.losses
    assert [s.step for s in result.snapshots] == [0, 6, 12, 18]
    assert len(result.test_accuracies) == 6 and not result.stopped
    again = train(CNNWithAttention(4, widths=TINY, seed=0), shapes, shapes, config)
    assert again.losses == result.losses
    assert torch.equal(again.snapshots[-1].state["fc.weight"], model.fc.weight)


def test_stop_flag_ends_training_early(shapes):
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    result = train(
        CNNWithAttention(4, widths=TINY), shapes, None, TrainConfig(epochs=3, batch_size=8), should_stop=stop
    )
    assert result.stopped and len(result.losses) == 2
    assert result.snapshots[-1].step == 2


def test_save_load_gives_identical_outputs(tmp_path, shapes):
    model = CNNWithAttention(4, widths=TINY, seed=4)
    train(model, shapes, None, TrainConfig(epochs=1, batch_size=12))  # BatchNorm statistics move too
    weights_path, config_path = save_model(model, tmp_path / "shapes_model")
    assert json.loads(config_path.read_text())["widths"] == list(TINY)
    loaded = load_model(tmp_path / "shapes_model")
    with torch.no_grad():
        a, b = model.eval()(shapes.images[:4]), loaded(shapes.images[:4])
    assert torch.equal(a.logits, b.logits) and torch.equal(a.attention.weights, b.attention.weights)
    assert weights_path.read_bytes()[:8] != b"\x80\x02\x8a\nl\xfc\x9c"  # not a pickle


def test_load_rejects_malformed_oversized_and_mismatched_files(tmp_path):
    model = CNNWithAttention(4, widths=TINY)
    weights, config = model_to_bytes(model)
    with pytest.raises(ValueError, match="not a valid safetensors"):
        model_from_bytes(b"\x00" * 64, config)
    with pytest.raises(ValueError, match="not valid JSON"):
        model_from_bytes(weights, "{widths")
    with pytest.raises(ValueError, match="keys"):
        model_from_bytes(weights, json.dumps({"widths": [1]}))
    with pytest.raises(ValueError, match="larger than this app builds"):
        model_from_bytes(weights, json.dumps({**json.loads(config), "widths": [4, 4, 8, 8, 100000]}))
    other = json.dumps({**json.loads(config), "widths": [4, 4, 8, 8, 16]})
    with pytest.raises(ValueError, match=r"weight '.*' has shape .* the config needs"):
        model_from_bytes(weights, other)
    with pytest.raises(ValueError, match="at most"):
        model_from_bytes(b"\x00" * (64 * 1024 * 1024 + 1), config)
    from safetensors.torch import save

    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["fc.bias"][0] = float("nan")
    with pytest.raises(ValueError, match=r"'fc\.bias' has non-finite"):
        model_from_bytes(save(state), config)
    del state["fc.bias"]
    with pytest.raises(ValueError, match=r"missing \['fc.bias'\]"):
        model_from_bytes(save(state), config)
    with pytest.raises(ValueError, match="no such file"):
        load_model(tmp_path / "absent")


# --- uploads -----------------------------------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_upload_png_and_jpeg_become_112_square_rgb():
    png = parse_upload(_encode(Image.new("RGB", (300, 200), (255, 0, 51)), "PNG"))
    assert png.shape == (3, 112, 112) and png.dtype == torch.float32
    torch.testing.assert_close(png[:, 50, 50], torch.tensor([1.0, 0.0, 0.2]))
    jpeg = parse_upload(_encode(Image.new("RGB", (64, 64), (0, 128, 255)), "JPEG", quality=95))
    assert (jpeg[:, 30, 30] - torch.tensor([0.0, 128 / 255, 1.0])).abs().max() < 0.02
    grey = parse_upload(_encode(Image.new("L", (10, 10), 51), "PNG"))
    torch.testing.assert_close(grey[:, 5, 5], torch.full((3,), 0.2))
    clear = parse_upload(_encode(Image.new("RGBA", (20, 20), (0, 0, 0, 0)), "PNG"))
    torch.testing.assert_close(clear[:, 5, 5], torch.ones(3))  # transparent → white


def _png_claiming(width: int, height: int) -> bytes:
    """A 1 × 1 PNG whose header claims ``width × height`` (CRC fixed, so only the size is wrong)."""
    data = bytearray(_encode(Image.new("RGB", (1, 1)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_upload_rejects_what_it_cannot_use():
    cases = [
        (b"", "is empty"),
        (b"hello, not an image", "not an image"),
        (b"\x00" * (1024 * 1024 + 1), "at most 1,048,576"),
        (_png_claiming(60_000, 60_000), "too large|at most 16,777,216 pixels"),
        (_png_claiming(5000, 4000), "5000 × 4000 pixels"),
        (_encode(Image.new("RGB", (40, 40), "red"), "PNG")[:60], "corrupt or truncated"),
        (_encode(Image.new("RGB", (8, 8)), "GIF"), "GIF image; only PNG and JPEG"),
        (_encode(Image.new("RGB", (8, 8)), "BMP"), "BMP image"),
    ]
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:])
    cases.append((buffer.getvalue(), "animated"))
    for data, message in cases:
        with pytest.raises(ValueError, match=message):
            parse_upload(data, name="cat.png")


def test_calibrated_batchnorm_uses_the_images_statistics(shapes):
    model = CNNWithAttention(4, widths=TINY, seed=2)
    calibrate_batchnorm(model, shapes.images, batch_size=8)
    assert not model.training
    first_bn = model.conv_layers[1]
    with torch.no_grad():
        conv = model.conv_layers[0](shapes.images)  # (24, 4, 110, 110)
    # three equal batches of 8: the cumulative average of the batch means is the mean over all images
    torch.testing.assert_close(first_bn.running_mean, conv.mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    assert first_bn.momentum == 0.1  # restored


def test_training_job_runs_in_a_thread_stops_and_holds_the_slot(shapes):
    job = TrainingJob(TINY, TrainConfig(epochs=50, batch_size=8), data=(shapes, shapes))
    assert job.start()
    other = TrainingJob(TINY, TrainConfig(epochs=1, batch_size=8), train_images=16, test_images=8, threads=2)
    assert not other.start()  # one training at a time
    deadline = time.monotonic() + 30
    while job.status().step < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    job.stop()
    job.join(30)
    status = job.status()
    assert status.state == "stopped" and status.finished and 2 <= status.step < 150
    assert len(status.losses) == status.step and status.error is None
    assert other.start()  # the slot is free again
    other.join(30)
    assert torch.get_num_threads() == 1  # the job's torch.set_num_threads(2) held for its own thread only
    assert other.status().state == "done" and other.status().step == 2  # 16 generated images, batches of 8
    assert other.snapshot_steps == (0, 2)
    with torch.no_grad():
        assert torch.equal(other.model_at(2)(shapes.images[:2]).logits, other.model(shapes.images[:2]).logits)
        assert not torch.equal(other.model_at(0).fc.weight, other.model.fc.weight)
    with pytest.raises(ValueError, match="step=1 has no snapshot"):
        other.model_at(1)
    assert len(other.status().batch_accuracies) == 2 and len(other.status().test_accuracies) == 1


# --- the page's view and figures ---------------------------------------------------------------------------------


def test_image_attention_view_against_the_models_weights(shapes):
    a = calibrate_batchnorm(CNNWithAttention(4, widths=TINY, seed=0), shapes.images)
    b = calibrate_batchnorm(CNNWithAttention(4, widths=TINY, seed=1), shapes.images)
    i = 3
    v = image_attention_view(
        shapes.images[i], {"untrained": a, "other": b}, 7, 12, mask=shapes.masks[i], label=int(shapes.labels[i])
    )
    assert [m.name for m in v.models] == ["untrained", "other"] and v.label == shapes.class_name(i)
    with torch.no_grad():
        weights = b(shapes.images[i : i + 1]).attention.weights[0].double()  # (4, 400, 400)
        probs = torch.softmax(b(shapes.images[i : i + 1]).logits[0].double(), -1)
    row = weights[:, 7 * 20 + 12].reshape(4, 20, 20).numpy()
    np.testing.assert_allclose(v.models[1].per_head, row, atol=1e-7)
    np.testing.assert_allclose(v.models[1].probabilities, probs.numpy(), atol=1e-6)
    frac = cell_fraction(shapes.masks[i].numpy())
    assert v.models[1].on_object == pytest.approx(float((row.mean(axis=0) * frac).sum()), abs=1e-9)
    assert v.chance == pytest.approx(frac.mean())
    assert v.models[1].overlay.shape == (5, OVERLAY_SIZE, OVERLAY_SIZE)
    assert v.image.shape == (112, 112, 3) and v.image.dtype == np.uint8
    x0, x1, y0, y1 = v.query_box
    assert (x0 + x1) / 2 == pytest.approx(position_center(12)) and (y0 + y1) / 2 == pytest.approx(position_center(7))
    sentence = map_sentence(v, "query")
    assert f"{v.chance:.0%}" in sentence and f"{v.models[0].on_object:.0%}" in sentence
    assert f"**{v.models[0].predicted}**" in prediction_sentence(v)
    caption = overlay_caption(v, "query")
    assert f"other: {row.mean(axis=0).min():.4f} to {row.mean(axis=0).max():.4f}" in caption


def test_the_views_sentences_in_chinese(shapes):
    """Class names, model names and the pieces between them follow the language (full-width punctuation, no
    spaces between Chinese sentences); the numbers are the same as in English."""
    a = calibrate_batchnorm(CNNWithAttention(4, widths=TINY, seed=0), shapes.images)
    b = calibrate_batchnorm(CNNWithAttention(4, widths=TINY, seed=1), shapes.images)
    i = 3
    with i18n.use("zh"):
        v = image_attention_view(
            shapes.images[i], {"未训练": a, "另一个": b}, 7, 12, mask=shapes.masks[i], label=int(shapes.labels[i])
        )
        names = {"circle": "圆形", "square": "正方形", "triangle": "三角形", "cross": "十字"}
        sentence = prediction_sentence(v)
        caption = overlay_caption(v, "query")
        shares = map_sentence(v, "query")
        assert v.panel_titles == ("头 1", "头 2", "头 3", "头 4", "各头平均")
    first = f"**未训练**的模型判断为**{names[v.models[0].predicted]}**（{v.models[0].probabilities.max():.0%}）——"
    assert sentence.startswith(first) and "。**另一个**的模型判断为" in sentence  # no space between the sentences
    low, high = v.models[1].mean.min(), v.models[1].mean.max()
    assert f"；另一个：{low:.4f} 到 {high:.4f}；均匀注意力处处都是 0.0025。" in caption
    assert f"未训练：{v.models[0].on_object:.0%}，另一个：{v.models[1].on_object:.0%}；" in shares


def test_upload_errors_in_chinese_keep_the_numbers():
    with i18n.use("zh"), pytest.raises(ValueError, match=r"^猫\.png 是 GIF 图像；只接受 PNG 和 JPEG$"):
        parse_upload(_encode(Image.new("RGB", (8, 8)), "GIF"), name="猫.png")
    with (
        i18n.use("zh"),
        pytest.raises(ValueError, match=r"^猫\.png 有 1,048,577 字节；最多只接受 1,048,576 字节（1 MB）$"),
    ):
        parse_upload(b"\x00" * (1024 * 1024 + 1), name="猫.png")


def test_grid_figure_clicks_map_back_to_positions(shapes):
    v = image_attention_view(shapes.images[0], {"untrained": CNNWithAttention(4, widths=TINY)}, 0, 19)
    fig = image_grid_figure(v.image, v.query_box)
    xs, ys = np.asarray(fig.data[1].x), np.asarray(fig.data[1].y)
    assert len(xs) == 400
    for token in (0, 19, 20 * 7 + 3, 399):
        assert (pixel_to_position(ys[token]), pixel_to_position(xs[token])) == divmod(token, 20)
    assert fig.layout.hoverdistance == -1  # a click anywhere picks the nearest cell
    overlay = attention_overlay_figure(v.image, [v.models[0].overlay], ["untrained"], v.panel_titles)
    heatmaps = [t for t in overlay.data if t.type == "heatmap"]
    assert len(heatmaps) == 5 and heatmaps[0].zmax == pytest.approx(float(v.models[0].overlay.max()))
    np.testing.assert_allclose(np.asarray(heatmaps[4].z), v.models[0].overlay[4], rtol=1e-6)

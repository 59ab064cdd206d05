"""The Image-attention page's settings, models, cached views and training panel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from attnviz import i18n
from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.image import (
    CLASSES,
    DEFAULT_TEST_IMAGES,
    DEFAULT_TRAIN_IMAGES,
    DEFAULT_WIDTHS,
    GRID,
    SEED_WIDTHS,
    CNNWithAttention,
    TrainConfig,
    calibrate_batchnorm,
    layer_sizes,
    make_shapes,
    parse_upload,
    pixel_to_position,
)
from attnviz.image.figures import image_grid_figure, training_curves_figure
from attnviz.image.job import TrainingJob
from attnviz.image.views import ImageAttentionView, image_attention_view
from attnviz.sharing import Choice, Int, StateSpec, label_aliases
from attnviz.snippets import image_snippet
from attnviz.ui.cache import digest, figure
from attnviz.ui.cells import new_click
from attnviz.ui.render import show_figure
from attnviz.ui.state import set_defaults

__all__ = [
    "DEFAULTS",
    "GALLERY_SIZE",
    "MAPS",
    "MODEL_SIZES",
    "MODEL_SIZE_LABELS",
    "SHARE",
    "SIZE_EXPLANATION",
    "SOURCES",
    "SOURCE_LABELS",
    "ImageChoice",
    "Settings",
    "controls",
    "current_image",
    "grid_chart",
    "layer_table",
    "models",
    "shared_state",
    "size_sentence",
    "step_picker",
    "training_controls",
    "training_panel",
    "view",
]

GALLERY_SIZE = 48
GALLERY_SEED = 2024  # neither the training stream (seed 0) nor its held-out stream
TRAIN_IMAGES, TEST_IMAGES = DEFAULT_TRAIN_IMAGES, DEFAULT_TEST_IMAGES  # (tests make them small)
SNAPSHOT_EVERY = 50
# The widgets, the session state and the address hold codes; the labels (English catalog messages) are shown
# translated, so switching the language keeps every choice and a shared link reads the same in every language.
SOURCE_LABELS = {"generated": N_("A generated shape"), "upload": N_("Your own image")}
SOURCES = tuple(SOURCE_LABELS)
MAPS = {"query": N_("What the query looks at"), "received": N_("What each position receives")}
MODEL_SIZES = {"small": DEFAULT_WIDTHS, "seed": SEED_WIDTHS}
MODEL_SIZE_LABELS = {
    "small": N_("small and fast {widths}"),
    "seed": N_("the seed's full size {widths} (4–7× slower a step)"),
}
DEFAULTS = {
    "img_source": SOURCES[0],
    "img_index": 0,
    "img_row": 10,
    "img_col": 10,
    "img_map": "query",
    "img_size": "small",
    "img_epochs": TrainConfig().epochs,
    "img_step": None,
}

BUSY = N_(
    "Another session is training right now (one training at a time keeps the app responsive for "
    "everyone): press Train again in a minute."
)
# how a finished run reads, by its job state
ENDED = {
    "done": N_(
        "done after {steps} steps: held-out accuracy {accuracy}, {cpu:.0f} s of CPU ({clock:.0f} s on the clock)"
    ),
    "stopped": N_(
        "stopped after {steps} steps: held-out accuracy {accuracy}, {cpu:.0f} s of CPU ({clock:.0f} s on the clock)"
    ),
    "failed": N_(
        "failed after {steps} steps: held-out accuracy {accuracy}, {cpu:.0f} s of CPU ({clock:.0f} s on the clock)"
    ),
}

MAX_STEP = 1_000_000  # far above any run the page allows (12 epochs of the training images)

# What the address holds: the image source, which generated image, the query cell, the map, the model size and the
# trained step. An uploaded image is never put in the address (nor exported): a shared link with "Your own image"
# asks the person opening it to upload their own. A step only applies once that session has trained a model of
# that size; until then the untrained model is shown.
SHARE = StateSpec(
    "img",
    (
        # aliases: the codes addresses held while the options were their English labels
        Choice("img_source", DEFAULTS["img_source"], options=SOURCES, aliases=label_aliases(SOURCE_LABELS)),
        Int("img_index", 0, low=0, high=GALLERY_SIZE - 1),
        Int("img_row", 10, low=0, high=GRID - 1),
        Int("img_col", 10, low=0, high=GRID - 1),
        Choice("img_map", DEFAULTS["img_map"], options=tuple(MAPS), aliases=label_aliases(MAPS)),
        Choice(
            "img_size",
            DEFAULTS["img_size"],
            options=tuple(MODEL_SIZES),
            aliases=label_aliases({size: MODEL_SIZE_LABELS[size].format(widths=w) for size, w in MODEL_SIZES.items()}),
        ),
        Int("img_step", None, low=0, high=MAX_STEP, optional=True),
    ),
)


@dataclass(frozen=True)
class Settings:
    source: str
    index: int
    row: int
    col: int
    map_kind: str  # "query" or "received"
    widths: tuple[int, ...]
    upload: bytes | None  # the uploaded file's bytes, when the source is "Your own image"
    upload_name: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageChoice:
    image: torch.Tensor  # (3, 112, 112) in [0, 1]
    mask: np.ndarray | None  # (112, 112) bool: the shape's pixels (generated images only)
    label: int | None
    name: str  # an uploaded file's name; a generated image's number


def _shown(labels: dict[str, str], fields: dict[str, dict] | None = None) -> Callable[[str], str]:
    """A widget's ``format_func``: a code's label (with its ``fields`` filled in) in the language the widget is
    drawn in (fixed now, so the function gives the same label wherever it is called, a test harness included)."""
    lang = i18n.language()

    def shown(code: str) -> str:
        with i18n.use(lang):
            return _(labels[code]).format(**(fields or {}).get(code, {}))

    return shown


def follow_click() -> None:
    """A new click on the image: the nearest cell becomes the query. Called before the row and column inputs are
    drawn, so it may still set them (the chart keeps its last point across reruns: only a new one moves the query)."""
    click = new_click(("img_fig_grid",), "img_seen_click")
    point = None if click is None else click[1]
    if point and point.get("x") is not None and point.get("y") is not None:
        st.session_state.img_row = pixel_to_position(float(point["y"]))
        st.session_state.img_col = pixel_to_position(float(point["x"]))


def controls() -> Settings:
    """The sidebar: which image, which query position, which map."""
    set_defaults(DEFAULTS)
    follow_click()
    st.header(_("Image"))
    source = st.radio(_("Image source"), SOURCES, format_func=_shown(SOURCE_LABELS), key="img_source")
    upload, upload_name = None, ""
    if source == SOURCES[0]:
        st.number_input(
            _("Generated image (0–{last})").format(last=GALLERY_SIZE - 1),
            min_value=0,
            max_value=GALLERY_SIZE - 1,
            step=1,
            key="img_index",
            help=_("None of these is among the training images."),
        )
    else:
        file = st.file_uploader(_("PNG or JPEG, at most 1 MB"), type=["png", "jpg", "jpeg"], key="img_upload")
        if file is not None:
            upload, upload_name = file.getvalue(), file.name
    st.header(_("Query position"))
    st.caption(_("Click a cell of the image, or set its row and column (0–19)."))
    row = st.number_input(_("Row"), min_value=0, max_value=GRID - 1, step=1, key="img_row")
    col = st.number_input(_("Column"), min_value=0, max_value=GRID - 1, step=1, key="img_col")
    map_kind = st.radio(_("Map"), tuple(MAPS), format_func=_shown(MAPS), key="img_map")
    return Settings(
        source=source,
        index=int(st.session_state.img_index),
        row=int(row),
        col=int(col),
        map_kind=str(map_kind),
        widths=MODEL_SIZES[st.session_state.img_size],
        upload=upload,
        upload_name=upload_name,
    )


@st.cache_data(max_entries=GALLERY_SIZE, show_spinner=False)
def _gallery_image(index: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Generated image ``index`` (none of them is a training image): ``(image (3, 112, 112), mask, label)``; each
    caller gets its own copy."""
    shapes = make_shapes(GALLERY_SIZE, seed=GALLERY_SEED)
    return shapes.images[index].numpy(), shapes.masks[index].numpy(), int(shapes.labels[index])


@st.cache_data(max_entries=8, show_spinner=False)
def _parse(key: str, _data: bytes, name: str) -> torch.Tensor:
    return parse_upload(_data, name=name)


def current_image(settings: Settings) -> ImageChoice:
    """The chosen image (a generated one while no file is uploaded). A bad file raises ``ValueError``."""
    if settings.source == SOURCES[1] and settings.upload is not None:
        image = _parse(digest(settings.upload), settings.upload, settings.upload_name)
        return ImageChoice(image, None, None, settings.upload_name)
    image, mask, label = _gallery_image(settings.index)
    return ImageChoice(torch.from_numpy(image), mask, label, str(settings.index))


@st.cache_data(max_entries=1, show_spinner=False)
def _calibration_images() -> np.ndarray:
    """64 generated images for BatchNorm statistics: ``(64, 3, 112, 112)``, a copy per caller."""
    return make_shapes(64, seed=GALLERY_SEED + 1).images.numpy()


@st.cache_resource(max_entries=4, show_spinner=False)
def untrained_model(widths: tuple[int, ...]) -> CNNWithAttention:
    """Seed 0's random weights, BatchNorm statistics calibrated on 64 generated images (shared, read-only)."""
    return calibrate_batchnorm(
        CNNWithAttention(len(CLASSES), widths=widths, seed=0), torch.from_numpy(_calibration_images())
    )


def _job() -> TrainingJob | None:
    return st.session_state.get("img_job")


def models(settings: Settings) -> dict[str, CNNWithAttention]:
    """Untrained, and trained (after the chosen saved step) once this session has trained a model of this size."""
    found = {_("untrained"): untrained_model(settings.widths)}
    job = _job()
    if job is not None and job.status().finished:
        st.session_state.img_shown_job = id(job)  # this full run shows it: the panel need not rerun the page
    if job is not None and job.result is not None and job.widths == settings.widths and job.snapshot_steps[-1] > 0:
        steps = job.snapshot_steps
        chosen = st.session_state.get("img_step")
        step = chosen if chosen in steps else steps[-1]
        found[_("trained ({steps} steps)").format(steps=step)] = _snapshot(job, step)
    return found


def _snapshot(job: TrainingJob, step: int) -> CNNWithAttention:
    cache = st.session_state.setdefault("img_snapshots", {})
    key = (id(job), step)
    if key not in cache:
        if len(cache) > 8:
            cache.clear()
        # a saved step's BatchNorm statistics are running averages that lag the weights: recompute them
        cache[key] = calibrate_batchnorm(job.model_at(step), torch.from_numpy(_calibration_images()))
    return cache[key]


def _model_key(model: CNNWithAttention) -> str:
    return digest(model.fc.weight.detach().numpy(), model.conv_layers[1].running_mean.numpy())


@st.cache_data(max_entries=32, show_spinner=False)
def _view(key: str, _image: torch.Tensor, _models: dict, row: int, col: int, _mask, label) -> ImageAttentionView:
    return image_attention_view(_image, _models, row, col, mask=_mask, label=label)


def view(choice: ImageChoice, found: dict[str, CNNWithAttention], settings: Settings) -> ImageAttentionView:
    """:func:`attnviz.image.views.image_attention_view`, cached by the image's bytes and the models' weights."""
    key = digest(choice.image.numpy(), [(name, _model_key(m)) for name, m in found.items()], choice.label)
    return _view(key, choice.image, found, settings.row, settings.col, choice.mask, choice.label)


@st.cache_data(max_entries=8, show_spinner=False)
def _tokens(key: str, _image: torch.Tensor, _model: CNNWithAttention) -> np.ndarray:
    """The untrained model's 400 feature tokens ``(400, C)`` of one image (what its attention reads)."""
    with torch.no_grad():
        return _model.eval()(_image.unsqueeze(0)).tokens[0].numpy()


def shared_state(choice: ImageChoice, view: ImageAttentionView, settings: Settings) -> dict[str, object]:
    """The keyword arguments of :func:`attnviz.ui.share.panel`: per shown model (``untrained``, ``trained``) the
    query's maps (per head, then the mean), the attention each position receives and the class probabilities; the
    untrained model's 400 feature tokens and attention weights go into the JSON alone, and "copy as code" reruns
    that model's attention step from them. An uploaded image itself is never exported."""
    grid = tuple(str(i) for i in range(GRID))
    heads = tuple(f"h{h}" for h in range(view.models[0].num_heads))
    computed: dict[str, object] = {}
    slices: dict[str, tuple[str, ...]] = {}
    for m, name in zip(view.models, ("untrained", "trained"), strict=False):  # the export's names, in English
        computed[f"{name}_query_map"] = (np.concatenate([m.per_head, m.mean[None]]), grid, grid)
        computed[f"{name}_received"] = (m.received, grid, grid)
        computed[f"{name}_probabilities"] = (m.probabilities[None], ("p",), view.class_names)
        slices[f"{name}_query_map"] = slices[f"{name}_received"] = (*heads, "mean")
    model = untrained_model(settings.widths)
    tokens = _tokens(digest(choice.image.numpy(), _model_key(model)), choice.image, model)
    parameters = {n: getattr(model.attention, n).detach().numpy() for n in ("w_q", "w_k", "w_v", "w_o")}

    def code() -> str:
        return image_snippet(tokens, parameters, num_heads=model.attention.num_heads, row=view.row, col=view.col)

    return {
        "matrices": {},
        "computed": computed,
        "code": code,
        "slices": slices,
        "json_only": {"tokens": tokens, **parameters},
    }


def grid_chart(v: ImageAttentionView, mask: np.ndarray | None) -> None:
    """The image with its grid of positions; a click makes the nearest cell the query."""
    fig = figure(image_grid_figure, v.image, v.query_box, mask_outline=mask, title=_("Click a cell"))
    show_figure(fig, key="img_fig_grid", on_select=True)


def layer_table(widths: tuple[int, ...]) -> list[dict[str, str]]:
    """Rows for ``st.table``: every layer's output size and how it came about."""
    return [
        {_("layer"): row.layer, _("output size"): " × ".join(map(str, row.shape)), _("how"): row.why}
        for row in layer_sizes(widths, len(CLASSES))
    ]


SIZE_EXPLANATION = N_(
    "A 3 × 3 convolution without padding takes one pixel off each side (112 → 110); a 2 × 2 max-pool halves the "
    "size, rounding down (53 → 26, so the image's last two rows and columns are never seen). The seed pools after "
    "its first two blocks only, so three unpadded convolutions follow: 26 → 24 → 22 → 20. Read position by "
    "position, the 20 × 20 map of C channels is 400 vectors of width C: a sentence of 400 **tokens**, each "
    "describing one 34 × 34-pixel patch, and self-attention lets every patch gather from every other one. Then "
    "the seed flattens all 400 outputs into one long vector for its linear classifier."
)


def size_sentence(widths: tuple[int, ...]) -> str:
    """Why the classifier is large, with this model's and the seed's parameter counts."""
    ours = CNNWithAttention(len(CLASSES), widths=widths, seed=0).parameter_counts()
    seed = CNNWithAttention(6, widths=SEED_WIDTHS, seed=0).parameter_counts()
    c = widths[-1]
    return _(
        "**Why the classifier is large**: it gives each of the 400 positions its own weights, 400 × {c} = "
        "{inputs:,} inputs for every class. This model has {classifier:,} classifier weights, "
        "{conv:,} in its five conv blocks and {attention:,} in the attention. The seed's "
        "model (C = 256, 6 bird classes) has {seed_classifier:,} in the classifier, more than in its conv blocks "
        "({seed_conv:,}) or its attention ({seed_attention:,}), and it has to learn a shape "
        "separately at every position where the shape can appear. Averaging the 400 outputs first (global average "
        "pooling) would leave 256 × 6 weights."
    ).format(
        c=c,
        inputs=400 * c,
        classifier=ours["classifier"],
        conv=ours["conv blocks"],
        attention=ours["attention"],
        seed_classifier=seed["classifier"],
        seed_conv=seed["conv blocks"],
        seed_attention=seed["attention"],
    )


def _start() -> None:
    config = TrainConfig(epochs=int(st.session_state.img_epochs), snapshot_every=SNAPSHOT_EVERY)
    job = TrainingJob(
        MODEL_SIZES[st.session_state.img_size], config, train_images=TRAIN_IMAGES, test_images=TEST_IMAGES
    )
    if job.start():
        st.session_state.img_job = job
        st.session_state.img_step = None
        st.session_state.img_refused = None
    else:
        st.session_state.img_refused = BUSY  # shown translated: the language may change before it is read


def training_controls() -> None:
    """Model size, epochs and the Train button (disabled while this session trains)."""
    job = _job()
    busy = job is not None and not job.status().finished
    size, epochs, start = st.columns([3, 3, 1], vertical_alignment="bottom")
    size.radio(
        _("Model"),
        tuple(MODEL_SIZES),
        format_func=_shown(MODEL_SIZE_LABELS, {c: {"widths": w} for c, w in MODEL_SIZES.items()}),
        key="img_size",
        disabled=busy,
    )
    epochs.slider(
        _("Epochs (passes over the {images:,} training images)").format(images=TRAIN_IMAGES),
        1,
        12,
        key="img_epochs",
        disabled=busy,
    )
    start.button(_("Train"), key="img_train_start", on_click=_start, disabled=busy, type="primary")
    if st.session_state.get("img_refused"):
        st.warning(_(st.session_state.img_refused), icon="⏳")


def _stop() -> None:
    job = _job()
    if job is not None:
        job.stop()


def training_panel() -> None:
    """Progress, stop and curves; a fragment that reruns itself every second while this session trains and
    reruns the whole page once when training ends (the trained model then appears above)."""
    job = _job()
    running = job is not None and not job.status().finished

    @st.fragment(run_every=1.0 if running else None)
    def panel() -> None:
        job = _job()
        if job is None:
            st.caption(_("No model trained in this session yet."))
            return
        status = job.status()
        if status.state == "preparing":
            st.progress(0.0, text=_("Generating {images:,} images…").format(images=TRAIN_IMAGES + TEST_IMAGES))
        elif not status.finished:
            st.progress(
                status.fraction,
                text=_("step {step} of {total} · {cpu:.0f} s of CPU").format(
                    step=status.step, total=status.total_steps, cpu=status.cpu_seconds
                ),
            )
        else:
            accuracy = f"{status.test_accuracies[-1]:.1%}" if status.test_accuracies else "—"
            st.progress(
                status.fraction,
                text=_(ENDED[status.state]).format(
                    steps=status.step, accuracy=accuracy, cpu=status.cpu_seconds, clock=status.seconds
                ),
            )
        if not status.finished:
            st.button(_("Stop"), key="img_train_stop", on_click=_stop)
        if status.error:
            st.error(_("Training failed: {error}").format(error=status.error), icon="⚠️")
        if status.losses:
            curves = training_curves_figure(status.losses, status.eval_steps, status.test_accuracies)
            show_figure(curves, key="img_fig_curves")
        if status.finished and st.session_state.get("img_shown_job") != id(job):
            # training ended during one of this fragment's own runs: rerun the whole page to show the model
            st.session_state.img_shown_job = id(job)
            st.rerun(scope="app")

    panel()


def step_picker(settings: Settings) -> None:
    """Choose which saved step the "trained" model is (watch attention move as training goes on)."""
    job = _job()
    if job is None or job.result is None or job.widths != settings.widths or len(job.snapshot_steps) < 3:
        return
    steps = list(job.snapshot_steps)
    if st.session_state.get("img_step") not in steps:
        st.session_state.img_step = steps[-1]
    st.select_slider(_("Trained model after step"), steps, key="img_step")

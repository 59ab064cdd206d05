"""The Encoder page's settings, cached views and its open-on-demand sections.

Sources: a sentence (the Tokens page's, or typed here), the worked example's X, random tokens, a time series
(synthetic, or the learner's CSV). The stack runs once per distinct setting (cached); the detail sections are
expanders, computed and drawn only while open.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from attnviz import i18n
from attnviz.arrays import robust_max
from attnviz.cells import cell_at
from attnviz.encoder_figures import model_view_figure, model_view_panel_at
from attnviz.encoder_share import LAYER_ARRAYS, EncoderExport, encoder_export
from attnviz.encoder_views import (
    ENCODER_SOURCES,
    FOCUS_CELLS,
    HEAD_VIEW_TOKENS,
    MAX_ENCODER_TOKENS,
    EncoderInput,
    EncoderView,
    SeedBugView,
    encoder_view,
    random_input,
    seed_bug_view,
    sentence_input,
    series_input,
    worked_input,
)
from attnviz.figures import heatmap_grid, line_chart, matrix_heatmap
from attnviz.i18n import N_, pgettext
from attnviz.i18n import gettext as _
from attnviz.series import (
    MAX_CSV_BYTES,
    MAX_SERIES_COLUMNS,
    ParsedSeries,
    parse_series_csv,
    seed_batch,
    synthetic_series,
)
from attnviz.sharing import Bool, Choice, Int, StateSpec, Text
from attnviz.snippets import encoder_snippet
from attnviz.ui.cache import digest, figure
from attnviz.ui.cells import CLICK_HINT, show_cell
from attnviz.ui.render import show_figure
from attnviz.ui.state import set_defaults
from attnviz.views import DEFAULT_SENTENCE

__all__ = [
    "DEFAULTS",
    "SEED_000_PRESET",
    "SHARE",
    "Settings",
    "controls",
    "export",
    "inputs",
    "model_view",
    "opened_head",
    "run",
    "sections",
    "shared_state",
    "view",
]

P = "encoder_"  # widget key prefix
MAX_LAYERS = 12
MAX_HEADS = 16
MAX_D_FF = 4096
MAX_FEATURES = 32
SERIES_KINDS = ("Synthetic", "Your CSV")
# The options' codes (in the session state, the address and the JSON export) are these English names; the sidebar
# shows them translated.
NORMS = {"Post-norm (original, PyTorch's default)": False, "Pre-norm (norm_first=True)": True}
ACTIVATIONS = ("relu", "gelu")
OPTION_LABELS = {
    "Sentence": N_("Sentence"),
    "Worked example": N_("Worked example"),
    "Random tokens": N_("Random tokens"),
    "Time series": N_("Time series"),
    "Synthetic": N_("Synthetic"),
    "Your CSV": N_("Your CSV"),
    "Post-norm (original, PyTorch's default)": N_("Post-norm (original, PyTorch's default)"),
    "Pre-norm (norm_first=True)": N_("Pre-norm (`norm_first=True`)"),
}


def option_label(code: object) -> str:
    """An option's code as the sidebar shows it (in the interface's language)."""
    label = OPTION_LABELS.get(str(code))
    return _(label) if label else str(code)


def _option_labels() -> Callable[[object], str]:
    """:func:`option_label` in the language of this run, whenever it is called: a widget's ``format_func`` is also
    called outside the script run (AppTest formats a value to find its option), where no session language is."""
    lang = i18n.language()

    def label(code: object) -> str:
        with i18n.use(lang):
            return option_label(code)

    return label


DEFAULTS: dict[str, object] = {
    f"{P}source": ENCODER_SOURCES[0],
    f"{P}text": DEFAULT_SENTENCE,
    f"{P}num_tokens": 128,
    f"{P}d_model": 32,
    f"{P}series_kind": SERIES_KINDS[0],
    f"{P}series_steps": 64,
    f"{P}series_features": 9,
    f"{P}pasted_csv": "",
    f"{P}layers": 2,
    f"{P}heads": 4,
    f"{P}d_ff": 128,
    f"{P}norm": next(iter(NORMS)),
    f"{P}activation": "relu",
    f"{P}seed": 0,
    f"{P}causal": False,
    f"{P}valid_len": None,
    f"{P}open_layer": 0,
    f"{P}open_head": 0,
}

TEXT_MAX_CHARS = 2000  # the address's cap on the sentence
MAX_EXPORT_NUMBERS = 1_000_000  # every weight of a deeper or wider model makes a JSON of tens of megabytes

# What the address and the JSON export hold: every setting of the sidebar and the opened layer/head. The learner's
# CSV (uploaded or pasted) never goes there: a shared link with "Your CSV" asks whoever opens it for their own file;
# the synthetic series is rebuilt from its settings.
SHARE = StateSpec(
    "encoder",
    (
        Choice(f"{P}source", DEFAULTS[f"{P}source"], options=ENCODER_SOURCES),
        Text(f"{P}text", DEFAULT_SENTENCE, max_chars=TEXT_MAX_CHARS),
        Int(f"{P}num_tokens", 128, low=1, high=MAX_ENCODER_TOKENS),
        Int(f"{P}d_model", 32, low=1, high=512),
        Choice(f"{P}series_kind", SERIES_KINDS[0], options=SERIES_KINDS),
        Int(f"{P}series_steps", 64, low=2, high=MAX_ENCODER_TOKENS),
        Int(f"{P}series_features", 9, low=1, high=MAX_FEATURES),
        Int(f"{P}layers", 2, low=1, high=MAX_LAYERS),
        Int(f"{P}heads", 4, low=1, high=MAX_HEADS),
        Int(f"{P}d_ff", 128, low=1, high=MAX_D_FF),
        Choice(f"{P}norm", DEFAULTS[f"{P}norm"], options=tuple(NORMS)),
        Choice(f"{P}activation", "relu", options=ACTIVATIONS),
        Int(f"{P}seed", 0, low=0, high=2**31 - 1),
        Bool(f"{P}causal", False),
        Int(f"{P}valid_len", None, low=1, high=MAX_ENCODER_TOKENS, optional=True),
        Int(f"{P}open_layer", 0, low=0, high=MAX_LAYERS - 1),
        Int(f"{P}open_head", 0, low=0, high=MAX_HEADS - 1),
    ),
)

# Seed 000's TimeSeriesTransformer: 9 features, 10 layers × 3 heads, PyTorch's default d_ff 2048, post-norm, relu.
SEED_000_PRESET: dict[str, object] = {
    f"{P}source": "Time series",
    f"{P}series_kind": "Synthetic",
    f"{P}series_steps": 64,
    f"{P}series_features": 9,
    f"{P}layers": 10,
    f"{P}heads": 3,
    f"{P}d_ff": 2048,
    f"{P}norm": next(iter(NORMS)),
    f"{P}activation": "relu",
    f"{P}causal": False,
    f"{P}valid_len": None,
    f"{P}open_layer": 0,
    f"{P}open_head": 0,
}


@dataclass(frozen=True)
class Settings:
    """Everything the page's numbers depend on."""

    source: str
    text: str
    num_tokens: int
    d_model: int
    series_kind: str
    series_steps: int
    series_features: int
    csv: bytes | None  # the uploaded or pasted file (None: none yet)
    num_layers: int
    num_heads: int
    d_ff: int
    norm_first: bool
    activation: str
    seed: int
    causal: bool
    valid_len: int | None
    problems: tuple[str, ...] = ()  # each names its control; non-empty: nothing can be computed

    @property
    def seed_000_shape(self) -> bool:
        """A synthetic series: the seed's (16, 32, F) batch can be built from the same generator."""
        return self.source == "Time series" and self.series_kind == "Synthetic"

    def model(self) -> tuple:
        """The model's settings, as the cached views take them."""
        return (
            self.num_layers,
            self.num_heads,
            self.d_ff,
            self.norm_first,
            self.activation,
            self.seed,
            self.causal,
            self.valid_len,
        )


def _whole(value: object, default: int) -> int:
    if isinstance(value, bool):
        return default
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def _in_range(key: str, label: str, low: int, high: int) -> str | None:
    """A value set out of its widget's range (an old session, a test, another page) is clamped and named."""
    value = st.session_state.get(key)
    number = _whole(value, low)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high or number != value:
        st.session_state[key] = min(max(number, low), high)
        return _("{label} must be a whole number from {low} to {high}, got {value}; using {used}").format(
            label=_(label), low=low, high=high, value=repr(value), used=st.session_state[key]
        )
    return None


def _apply_seed_000() -> None:
    st.session_state.update(SEED_000_PRESET)


def _use_tokens_sentence() -> None:
    st.session_state[f"{P}text"] = st.session_state.get("tokens_text", "")


def divisors(n: int, limit: int = MAX_HEADS) -> list[int]:
    """The head counts that split d_model = ``n`` evenly (at most ``limit``)."""
    return [k for k in range(1, min(n, limit) + 1) if n % k == 0] if n >= 1 else [1]


@st.cache_data(max_entries=4, show_spinner=False)
def _parsed(key: str, _data: bytes) -> ParsedSeries:
    return parse_series_csv(_data)


def parsed_csv(data: bytes) -> ParsedSeries:
    """The learner's CSV, parsed once per distinct file (``ValueError`` names the line and column)."""
    return _parsed(digest(data), data)


def _source_width(source: str, csv: bytes | None) -> int:
    """d_model of the chosen source (0 when it cannot be known yet)."""
    s = st.session_state
    if source == "Worked example":
        return 4
    if source == "Time series":
        if s[f"{P}series_kind"] == "Synthetic":
            return _whole(s[f"{P}series_features"], 9)
        try:
            return parsed_csv(csv).values.shape[1] if csv is not None else 0
        except ValueError:
            return 0
    return _whole(s[f"{P}d_model"], 32)


def controls() -> Settings:
    """The sidebar; returns the settings with the problems (each names its control)."""
    set_defaults(DEFAULTS)
    problems: list[str] = []
    for key, label, low, high in (
        (f"{P}layers", N_("Layers"), 1, MAX_LAYERS),
        (f"{P}d_ff", "d_ff", 1, MAX_D_FF),
        (f"{P}d_model", "d_model", 1, 512),
        (f"{P}num_tokens", N_("Number of random tokens"), 1, MAX_ENCODER_TOKENS),
        (f"{P}series_steps", N_("Time steps"), 2, MAX_ENCODER_TOKENS),
        (f"{P}series_features", N_("Features"), 1, MAX_FEATURES),
    ):
        problem = _in_range(key, label, low, high)
        if problem:
            problems.append(problem)
    st.button(
        _("Seed 000's time-series model (10 layers × 3 heads)"),
        key=f"{P}preset_seed000",
        on_click=_apply_seed_000,
        help=_(
            "The tutorial's `TimeSeriesTransformer`: 9 features per time step, 10 encoder layers of 3 heads, "
            "d_ff 2048, on a synthetic series of 64 steps."
        ),
    )
    st.header(_("Input"))
    source = st.radio(_("Source"), ENCODER_SOURCES, key=f"{P}source", format_func=_option_labels())
    csv: bytes | None = None
    if source == "Sentence":
        st.text_area(_("Sentence"), key=f"{P}text", height=90)
        tokens_text = st.session_state.get("tokens_text")
        if tokens_text and tokens_text != st.session_state[f"{P}text"]:
            st.button(_("Use the Tokens page's sentence"), key=f"{P}from_tokens", on_click=_use_tokens_sentence)
    if source == "Random tokens":
        st.slider(_("Number of random tokens"), 1, MAX_ENCODER_TOKENS, key=f"{P}num_tokens")
    if source in ("Sentence", "Random tokens"):
        st.number_input(_("d_model (width of each token vector)"), 1, 512, step=1, key=f"{P}d_model")
    if source == "Time series":
        kind = st.radio(_("Series"), SERIES_KINDS, key=f"{P}series_kind", horizontal=True, format_func=_option_labels())
        if kind == "Synthetic":
            st.slider(_("Time steps"), 2, MAX_ENCODER_TOKENS, key=f"{P}series_steps")
            st.slider(_("Features (= d_model)"), 1, MAX_FEATURES, key=f"{P}series_features")
        else:
            upload = st.file_uploader(
                _("CSV of numbers, one row per time step (≤ {megabytes} MB, ≤ {columns} columns)").format(
                    megabytes=MAX_CSV_BYTES // 1_000_000, columns=MAX_SERIES_COLUMNS
                ),
                type=["csv", "txt", "tsv"],
                key=f"{P}csv",
            )
            st.caption(
                _("Your numbers stay in this browser session: a copied address keeps the other settings, not the file.")
            )
            st.text_area(
                _("…or paste the numbers (a header row is optional)"),
                key=f"{P}pasted_csv",
                height=100,
                placeholder=_("temp,load\n1.5,20\n1.7,22\n…"),
            )
            pasted = str(st.session_state[f"{P}pasted_csv"] or "")
            csv = upload.getvalue() if upload is not None else (pasted.encode("utf-8") if pasted.strip() else None)
            if csv is None:
                problems.append(_("Your CSV: no file yet — upload or paste one, or choose the synthetic series"))
    d_model = _source_width(source, csv)
    st.header(_("Model"))
    st.slider(_("Layers"), 1, MAX_LAYERS, key=f"{P}layers")
    heads = st.session_state[f"{P}heads"] = _whole(st.session_state[f"{P}heads"], 1)
    offered = divisors(d_model) if d_model else [1]
    st.selectbox(
        _("Heads"),
        sorted(set(offered) | {heads}),  # a value that does not fit stays visible, with an error
        key=f"{P}heads",
        help=_(
            "Only the divisors of d_model are offered (at most {max_heads}): each head gets d_model / heads columns."
        ).format(max_heads=MAX_HEADS),
    )
    if d_model and d_model % heads:
        problems.append(
            _("Heads: d_model={d_model} is not divisible by num_heads={heads}; choose one of {offered}").format(
                d_model=d_model, heads=heads, offered=offered
            )
        )
    st.number_input(_("d_ff (feed-forward width)"), 1, MAX_D_FF, step=1, key=f"{P}d_ff")
    st.radio(_("LayerNorm"), tuple(NORMS), key=f"{P}norm", format_func=_option_labels())
    st.radio(_("Activation"), ACTIVATIONS, key=f"{P}activation", horizontal=True)
    st.number_input(_("Seed (embeddings and weights)"), 0, 2**31 - 1, step=1, key=f"{P}seed")
    st.header(_("Masks"))
    st.toggle(_("Causal mask (a token sees only itself and earlier ones)"), key=f"{P}causal")
    st.number_input(
        _("Valid length (keys from here on are padding)"),
        min_value=1,
        max_value=MAX_ENCODER_TOKENS,
        step=1,
        key=f"{P}valid_len",
        placeholder=_("none: every key is valid"),
    )
    s = st.session_state
    return Settings(
        source=source,
        text=str(s[f"{P}text"]),
        num_tokens=_whole(s[f"{P}num_tokens"], 128),
        d_model=_whole(s[f"{P}d_model"], 32),
        series_kind=str(s[f"{P}series_kind"]),
        series_steps=_whole(s[f"{P}series_steps"], 64),
        series_features=_whole(s[f"{P}series_features"], 9),
        csv=csv,
        num_layers=_whole(s[f"{P}layers"], 2),
        num_heads=heads,
        d_ff=_whole(s[f"{P}d_ff"], 128),
        norm_first=NORMS.get(str(s[f"{P}norm"]), False),
        activation=str(s[f"{P}activation"]),
        seed=_whole(s[f"{P}seed"], 0),
        causal=bool(s[f"{P}causal"]),
        valid_len=None if s[f"{P}valid_len"] is None else _whole(s[f"{P}valid_len"], 1),
        problems=tuple(problems),
    )


@st.cache_data(max_entries=16, show_spinner=False)
def _inputs(key: str, lang: str, source: str, text: str, num_tokens: int, d_model: int, kind: str, steps: int,
            features: int, seed: int, _csv: bytes | None) -> tuple[EncoderInput, str | None]:  # fmt: skip
    if source == "Sentence":
        return sentence_input(text, d_model, seed), None
    if source == "Worked example":
        return worked_input(), None
    if source == "Random tokens":
        return random_input(num_tokens, d_model, seed), None
    if kind == "Synthetic":
        series = synthetic_series(steps, features, seed=seed)
        what = _(
            "A synthetic series (seed {seed}): per feature, two sines with random periods and phases, a linear trend "
            "and Gaussian noise (std 0.1)"
        ).format(seed=seed)
        return series_input(series.values, what), None
    if _csv is None:
        raise ValueError(_("Your CSV: no file yet"))
    parsed = parsed_csv(_csv)
    dropped = None
    if parsed.dropped_rows:
        dropped = _("Your file has {rows} rows; the first {used} are used.").format(
            rows=parsed.total_rows, used=parsed.values.shape[0]
        )
    names = ", ".join(parsed.columns[:6]) + ("…" if len(parsed.columns) > 6 else "")
    return series_input(parsed.values, _("Your CSV (columns {names})").format(names=names)), dropped


def inputs(settings: Settings) -> tuple[EncoderInput, str | None]:
    """The rows the encoder reads, and a note when rows of a CSV were left out."""
    s = settings
    return _inputs(digest(s.csv or b""), i18n.language(), s.source, s.text, s.num_tokens, s.d_model, s.series_kind, s.series_steps,
                   s.series_features, s.seed, s.csv)  # fmt: skip


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread: its small per-layer products gain nothing from a second one, and on a busy 2-core
    server the threads' spin-waiting made the 10 × 3 view 5–8× slower (0.35 s on one thread, 2–4 s on two)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# cache_resource: a view at 512 tokens holds ~10 MB of (read-only) arrays; st.cache_data would copy them every rerun.
# Its sentences are in the reader's language: the language is part of the key.
@st.cache_resource(max_entries=6, show_spinner=False)
def _view(key: str, lang: str, _source: EncoderInput, model: tuple) -> EncoderView:
    layers, heads, d_ff, norm_first, activation, seed, causal, valid_len = model
    with _one_thread():
        return encoder_view(_source, num_layers=layers, num_heads=heads, d_ff=d_ff, norm_first=norm_first,
                            activation=activation, seed=seed, causal=causal, valid_len=valid_len)  # fmt: skip


def view(source: EncoderInput, settings: Settings) -> EncoderView:
    """The whole stack's display model for ``source`` (``ValueError`` names what cannot run)."""
    with st.spinner(_("Running the encoder…")):
        return _view(digest(source.x, source.labels, source.kind), i18n.language(), source, settings.model())


def run(settings: Settings) -> tuple[EncoderInput, str | None, EncoderView]:
    """The input, a note on dropped CSV rows, and the view: what the page keeps as its last good result."""
    source, dropped = inputs(settings)
    return source, dropped, view(source, settings)


@st.cache_resource(max_entries=4, show_spinner=False)
def _seed_bug(features: int, seed: int, model: tuple, lang: str) -> SeedBugView:
    layers, heads, d_ff, norm_first, activation, model_seed = model[:6]
    batch = seed_batch(synthetic_series(16 * 32, features, seed=seed).values)
    with _one_thread():
        return seed_bug_view(batch, num_layers=layers, num_heads=heads, d_ff=d_ff, norm_first=norm_first,
                             activation=activation, seed=model_seed)  # fmt: skip


# ------------------------------------------------------------------------------------ share, export, code


@st.cache_resource(max_entries=4, show_spinner=False)
def _export(key: str, _source: EncoderInput, model: tuple, layer: int) -> EncoderExport:
    layers, heads, d_ff, norm_first, activation, seed, causal, valid_len = model
    with _one_thread():
        return encoder_export(_source.x, _source.kind, num_layers=layers, num_heads=heads, d_ff=d_ff,
                              norm_first=norm_first, activation=activation, seed=seed, causal=causal,
                              valid_len=valid_len, layer=layer)  # fmt: skip


def export(source: EncoderInput, view: EncoderView, layer: int) -> EncoderExport:
    """The full arrays of layer ``layer`` (cached; the view keeps only what it draws)."""
    model = (view.num_layers, view.num_heads, view.d_ff, view.norm_first, view.activation,
             view.seed, view.causal, view.valid_len)  # fmt: skip
    return _export(digest(source.x, source.labels, source.kind), source, model, layer)


def shared_state(source: EncoderInput, view: EncoderView) -> dict[str, object]:
    """The keyword arguments of :func:`attnviz.ui.share.panel`: the input ``x``, the opened layer's arrays named as
    the EncoderLayerTrace fields (``weights`` one table per head), the model's ``model_output``; every layer's
    weights go into the JSON alone (up to :data:`MAX_EXPORT_NUMBERS` numbers), which "copy as code" reads when they
    are too many to print."""
    layer = min(_whole(st.session_state.get(f"{P}open_layer"), 0), view.num_layers - 1)
    e = export(source, view, layer)
    labels = tuple(source.labels)
    dims = tuple(f"d{j}" for j in range(view.d_model))
    hidden = tuple(f"h{j}" for j in range(view.d_ff))
    computed: dict[str, object] = {"x": (e.x, labels, dims)}
    for name in LAYER_ARRAYS:
        cols = labels if name == "weights" else hidden if name.startswith("ffn_") and name != "ffn_input" else dims
        computed[f"layer{layer}_{name}"] = (e.arrays[name], labels, cols)
    computed["model_output"] = (e.output, labels, dims)
    total = sum(p.size for p in e.parameters.values())
    json_only: dict[str, object] = {}
    if total <= MAX_EXPORT_NUMBERS:
        json_only = dict(e.parameters)

    def code() -> str:
        if total > MAX_EXPORT_NUMBERS:
            return _(
                "# This model has {total:,} weights: more than the export holds ({limit:,}).\n"
                "# Make it smaller (layers, d_model, d_ff) to get a script that runs it with torch alone.\n"
            ).format(total=total, limit=MAX_EXPORT_NUMBERS)
        return encoder_snippet(e.x, e.parameters, num_layers=view.num_layers, num_heads=view.num_heads,
                               d_ff=view.d_ff, norm_first=view.norm_first, activation=view.activation,
                               causal=view.causal, valid_len=view.valid_len, layer=layer)  # fmt: skip

    return {
        "matrices": {},
        "computed": computed,
        "code": code,
        "slices": {f"layer{layer}_weights": tuple(f"h{h}" for h in range(view.num_heads))},
        "json_only": json_only,
    }


# ---------------------------------------------------------------------------------------------- model view


def model_view(view: EncoderView) -> None:
    """Every layer × head; a click (or the two boxes under it) chooses the head opened below."""
    for key, count in ((f"{P}open_layer", view.num_layers), (f"{P}open_head", view.num_heads)):
        st.session_state[key] = min(_whole(st.session_state[key], 0), count - 1)
    # The figure does not depend on the opened head: opening another one sends nothing heavy again.
    fig = figure(model_view_figure, view.grid, top=view.grid_top, pooled=view.grid_block > 1)
    point = show_figure(fig, f"{P}model_view", width="content", on_select=True, config={"displayModeBar": False})
    if point and point != st.session_state.get(f"{P}clicked") and point.get("x") is not None:
        st.session_state[f"{P}clicked"] = point  # the chart returns the last click on every rerun: act once
        panel = model_view_panel_at(point["x"], point["y"], view.grid.shape[-1], view.num_layers, view.num_heads)
        if panel is not None:
            st.session_state[f"{P}open_layer"], st.session_state[f"{P}open_head"] = panel
            st.session_state[f"{P}open_panel"] = True
    left, middle, _rest = st.columns([1, 1, 3])
    left.selectbox(_("Open layer"), range(view.num_layers), key=f"{P}open_layer")
    middle.selectbox(_("Open head"), range(view.num_heads), key=f"{P}open_head")


def head_tables(view: EncoderView) -> None:
    """Entropy and mean distance per layer × head, side by side."""
    layers = tuple(_("layer {layer}").format(layer=i) for i in range(view.num_layers))
    heads = tuple(_("head {head}").format(head=h) if view.num_heads <= 4 else f"h{h}" for h in range(view.num_heads))
    text = view.num_heads <= 6 and view.entropy.size <= 120
    common = {"kind": "sequential", "row_title": _("layer"), "col_title": _("head"), "show_text": text}
    left, right = st.columns(2)
    with left:
        title = _("entropy of each head's rows (bits; uniform = {max_entropy:.2f})").format(
            max_entropy=view.max_entropy
        )
        fig = figure(matrix_heatmap, view.entropy, layers, heads, title=title, value_title=_("bits"), **common)
        show_figure(fig, f"{P}fig_entropy")
    with right:
        title = _("mean distance attended |i − j| (positions)")
        fig = figure(
            matrix_heatmap,
            view.distance,
            layers,
            heads,
            title=title,
            value_title=pgettext("distance", "positions"),
            **common,
        )
        show_figure(fig, f"{P}fig_distance")


POOLED_CLICK = N_(
    "With {block} tokens per cell a cell is a share of attention, not one weight: a click explains a weight when "
    "the input has at most {cells} tokens."
)


@st.fragment
def opened_head(view: EncoderView, source: EncoderInput | None = None) -> None:
    """The chosen head at (up to 256 cells a side) full size, with token labels; a click on a cell writes that
    weight out (given the ``source`` the view was computed from)."""
    layer, head = st.session_state[f"{P}open_layer"], st.session_state[f"{P}open_head"]
    panel = st.expander(
        _("Layer {layer}, head {head} at full size").format(layer=layer, head=head),
        key=f"{P}open_panel",
        on_change="rerun",
    )
    if not panel.open:
        return
    with panel:
        pooled = view.focus_block > 1
        weights = view.focus[layer, head]
        top = 1.0 if view.t <= 32 else min(1.0, robust_max(weights))
        title = (
            _("layer {layer} head {head}: attention weights ({block} tokens per cell)")
            if pooled
            else _("layer {layer} head {head}: attention weights")
        ).format(layer=layer, head=head, block=view.focus_block)
        fig = figure(matrix_heatmap, weights, view.focus_labels, view.focus_labels, title=title, kind="weights",
                     zmax=top, row_title=_("query"), col_title=_("key"),
                     value_title=_("share") if pooled else _("weight"), height=700)  # fmt: skip
        if source is None:
            show_figure(fig, f"{P}fig_focus")
        elif pooled:
            show_figure(fig, f"{P}fig_focus")
            st.caption(_(POOLED_CLICK).format(block=view.focus_block, cells=FOCUS_CELLS))
        else:
            st.caption(_(CLICK_HINT))
            point = show_figure(fig, f"{P}fig_focus", on_select=True)
            cell = cell_at(point, view.focus_labels, view.focus_labels)
            if cell is not None and head < view.num_heads:
                row, col = cell[:2]
                show_cell(export(source, view, layer).explain(head, row, col, labels=view.labels))
        if top < 1:
            st.caption(
                _("Colours saturate at {top:.3g} (this head's 99th percentile); hover for exact values.").format(
                    top=top
                )
            )


# ------------------------------------------------------------------------------------------------ sections


def sections(view: EncoderView, settings: Settings) -> None:
    """The detail sections, each an expander: only an open one is computed and drawn."""
    _section("steps", _("One layer, step by step"), lambda: _steps(view))
    _section("head_view", _("Head view: lines between tokens, as BertViz draws it"), lambda: _head_view(view))
    _section("similarity", _("Token similarity through the stack"), lambda: _similarity(view))
    if settings.seed_000_shape:
        _section(
            "seed_bug",
            _("Seed 000's batch-axis bug: the same model as the tutorial runs it"),
            lambda: _seed_bug_section(settings),
        )


@st.fragment
def _section(name: str, label: str, draw) -> None:
    panel = st.expander(label, key=f"{P}open_{name}", on_change="rerun")
    if panel.open:
        with panel:
            draw()


def _line(x, series: dict, **options):
    """``line_chart`` with room for its tick labels and whole-number steps on x."""
    fig = line_chart(x, series, **options)
    fig.update_layout(margin={"l": 60, "b": 50}, xaxis={"dtick": 1 if len(x) <= 24 else None})
    return fig


STEP_TITLES = {
    "input": N_("Input"),
    "attention": N_("Multi-head self-attention"),
    "attention_output": N_("Attention output"),
    "residual1": N_("Add (residual)"),
    "norm1": N_("LayerNorm 1"),
    "ffn_hidden": N_("Feed-forward hidden layer"),
    "ffn_output": N_("Feed-forward output"),
    "residual2": N_("Add (residual)"),
    "norm2": N_("LayerNorm 2"),
    "output": N_("Output"),
}
POST_NORM = ("input", "attention", "attention_output", "residual1", "norm1", "ffn_hidden", "ffn_output", "residual2",
             "norm2", "output")  # fmt: skip
PRE_NORM = ("input", "norm1", "attention", "attention_output", "residual1", "norm2", "ffn_hidden", "ffn_output",
            "residual2", "output")  # fmt: skip


def _head_titles(num_heads: int) -> list[str]:
    return [_("head {head}").format(head=h) for h in range(num_heads)]


def _steps(view: EncoderView) -> None:
    layer = min(st.selectbox(_("Layer"), range(view.num_layers), key=f"{P}step_layer"), view.num_layers - 1)
    s = view.steps[layer]
    labels = s.labels
    dims = tuple(f"d{j}" for j in range(view.d_model))
    if s.window < view.t:
        st.caption(
            _("The matrices show tokens 0 … {last} of {total}; the sentences use every token.").format(
                last=s.window - 1, total=view.t
            )
        )

    def matrix(
        name: str, z: np.ndarray, title: str, cols: tuple[str, ...] = dims, col_title: str | None = None
    ) -> None:
        fig = figure(matrix_heatmap, z, labels, cols, title=title, row_title=_("token"),
                     col_title=col_title or _("dim"), value_title=_("value"))  # fmt: skip
        show_figure(fig, f"{P}fig_step_{name}")

    for number, name in enumerate(PRE_NORM if s.norm_first else POST_NORM, start=1):
        st.markdown(f"**{number}. {_(STEP_TITLES[name])}** · `{s.shapes[name]}`  \n{s.sentences[name]}")
        if name == "input":
            matrix("input", s.input, _("layer {layer} input").format(layer=layer))
        elif name == "attention":
            fig = figure(heatmap_grid, view.grid[layer], view.grid_labels, view.grid_labels,
                         title=_("layer {layer}: each head's weights").format(layer=layer), zmax=view.grid_top,
                         max_cols=4, row_title=_("query"), col_title=_("key"), value_title=_("weight"),
                         panel_titles=_head_titles(view.num_heads))  # fmt: skip
            show_figure(fig, f"{P}fig_step_attention")
        elif name == "attention_output":
            matrix(name, s.attention_output, _("attention output (concat · W_O + b_O)"))
        elif name in ("residual1", "residual2"):
            title = _("input + attention output") if name == "residual1" else _("+ FFN output")
            matrix(name, getattr(s, name), title)
        elif name in ("norm1", "norm2"):
            standardized = getattr(s, f"{name}_standardized")
            stats = {
                _("mean before"): getattr(s, f"{name}_mean"),
                _("std before"): getattr(s, f"{name}_std"),
                _("mean after"): standardized.mean(-1),
                _("std after"): standardized.std(-1),
            }
            norm = _(STEP_TITLES[name])
            title = _("{norm}: each token's mean and std, before and after standardising").format(norm=norm)
            fig = figure(_line, np.arange(s.window), stats, title=title, x_title=_("token"), y_title=_("value"))
            show_figure(fig, f"{P}fig_{name}_stats")
            matrix(name, getattr(s, f"{name}_output"), _("{norm} output").format(norm=norm))
        elif name == "ffn_hidden":
            cols = tuple(f"h{j * s.ffn_block}" for j in range(s.ffn_hidden.shape[1]))
            title = (
                _("hidden activations ({activation}), mean of {block} units per column")
                if s.ffn_block > 1
                else _("hidden activations ({activation})")
            ).format(activation=s.activation, block=s.ffn_block)
            matrix(name, s.ffn_hidden, title, cols, _("hidden unit"))
        elif name == "ffn_output":
            matrix(name, s.ffn_output, _("FFN output"))
        elif name == "output":
            matrix(name, s.output, _("layer {layer} output").format(layer=layer))


def _head_view(view: EncoderView) -> None:
    from attnviz.ui.head_view import head_view

    if not view.head_view_ok:
        st.info(
            _(
                "The head view draws a line per pair of tokens: it is shown for up to {limit} tokens (this input has "
                "{tokens}). Use the model view and the opened head instead."
            ).format(limit=HEAD_VIEW_TOKENS, tokens=view.t)
        )
        return
    layer = min(st.selectbox(_("Layer"), range(view.num_layers), key=f"{P}hv_layer"), view.num_layers - 1)
    head_view(view.grid[layer], list(view.labels), key=f"{P}head_view")


def _similarity(view: EncoderView) -> None:
    st.markdown(
        _(
            "Cosine similarity between every pair of token vectors: the input, then after each layer. Attention mixes "
            "the tokens; here the mean similarity between different tokens goes from {first:.2f} (input) to "
            "{last:.2f} (after the last layer)."
        ).format(first=view.mean_similarity[0], last=view.mean_similarity[-1])
    )
    trend = {_("mean similarity between different tokens"): view.mean_similarity}
    fig = figure(_line, np.arange(view.num_layers + 1), trend,
                 title=_("mean cosine similarity (0 = input, l = after layer l − 1)"), x_title=_("stage"),
                 y_title=_("cosine"))  # fmt: skip
    show_figure(fig, f"{P}fig_similarity_trend")
    stage = min(st.slider(_("Stage (0 = input, l = after layer l − 1)"), 0, view.num_layers, key=f"{P}sim_stage"),
                view.num_layers)  # fmt: skip
    title = _("input") if stage == 0 else _("after layer {layer}").format(layer=stage - 1)
    fig = figure(matrix_heatmap, view.similarity[stage], view.similarity_labels, view.similarity_labels, title=title,
                 kind="signed", zmax=1.0, row_title=_("token"), col_title=_("token"),
                 value_title=_("cosine"))  # fmt: skip
    show_figure(fig, f"{P}fig_similarity")


def _seed_bug_section(settings: Settings) -> None:
    with st.spinner(_("Running seed 000's batch both ways…")):
        bug = _seed_bug(settings.series_features, settings.seed, settings.model(), i18n.language())
    st.markdown(bug.paragraph)
    samples = tuple(f"s{i}" for i in range(bug.seed_weights.shape[-1]))
    titles = _head_titles(bug.seed_weights.shape[0])
    st.markdown(_("**As the seed runs it**: layer 0 at time step 0, every head; rows and columns are *samples*."))
    fig = figure(heatmap_grid, bug.seed_weights, samples, samples, title=_("samples attending to samples"),
                 row_title=_("sample"), col_title=_("sample"), zmax=robust_max(bug.seed_weights),
                 value_title=_("weight"), max_cols=bug.seed_weights.shape[0], panel_titles=titles)  # fmt: skip
    show_figure(fig, f"{P}fig_seed_bug_seed")
    st.markdown(_("**Batch-first**: layer 0 for sample 0, every head; rows and columns are *time steps*."))
    fig = figure(heatmap_grid, bug.right_weights, bug.right_labels, bug.right_labels,
                 title=_("time steps attending to time steps"), row_title=_("time step"), col_title=_("time step"),
                 zmax=robust_max(bug.right_weights), max_cols=bug.right_weights.shape[0], value_title=_("weight"),
                 panel_titles=titles)  # fmt: skip
    show_figure(fig, f"{P}fig_seed_bug_right")

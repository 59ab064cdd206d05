"""The Encoder page: defaults, controls() -> frozen Settings, cached wrappers around the encoder views, and render().

Sources: a sentence (the Tokens page's, or a preset), the worked example's X, random tokens, a time series
(synthetic, or the learner's CSV). The page runs the whole stack once per distinct setting (cached) and draws only
the sections that are open.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import streamlit as st

from attnviz.encoder_views import (
    ENCODER_SOURCES,
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
from attnviz.figures import heatmap_grid, line_chart, matrix_heatmap, robust_max
from attnviz.series import MAX_CSV_BYTES, MAX_SERIES_COLUMNS, parse_series_csv, seed_batch, synthetic_series
from attnviz.ui.compute import cached_figure
from attnviz.ui.render import KEPT, show_figure, show_problems

__all__ = ["DEFAULTS", "SEED_000_PRESET", "EncoderSettings", "controls", "render"]

P = "encoder_"  # widget key prefix
MAX_LAYERS = 12
MAX_HEADS = 16
MAX_D_FF = 4096
SERIES_KINDS = ("Synthetic", "Your CSV")
NORMS = ("Post-norm (original, PyTorch's default)", "Pre-norm (norm_first=True)")
ACTIVATIONS = ("relu", "gelu")
DEFAULT_SENTENCE = "The animal didn't cross the street because it was too tired"

DEFAULTS: dict[str, object] = {
    f"{P}source": ENCODER_SOURCES[0],
    f"{P}text": DEFAULT_SENTENCE,
    f"{P}num_tokens": 128,
    f"{P}d_model": 32,
    f"{P}series_kind": SERIES_KINDS[0],
    f"{P}series_steps": 64,
    f"{P}series_features": 9,
    f"{P}layers": 2,
    f"{P}heads": 4,
    f"{P}d_ff": 128,
    f"{P}norm": NORMS[0],
    f"{P}activation": "relu",
    f"{P}seed": 0,
    f"{P}causal": False,
    f"{P}valid_len": None,
    f"{P}open_layer": 0,
    f"{P}open_head": 0,
    f"{P}csv_text": "",
}

# Seed 000's TimeSeriesTransformer: 9 features, 10 layers × 3 heads, PyTorch's default d_ff 2048, post-norm, relu.
SEED_000_PRESET: dict[str, object] = {
    f"{P}source": "Time series",
    f"{P}series_kind": "Synthetic",
    f"{P}series_steps": 64,
    f"{P}series_features": 9,
    f"{P}layers": 10,
    f"{P}heads": 3,
    f"{P}d_ff": 2048,
    f"{P}norm": NORMS[0],
    f"{P}activation": "relu",
    f"{P}causal": False,
    f"{P}valid_len": None,
    f"{P}open_layer": 0,
    f"{P}open_head": 0,
}


@dataclass(frozen=True)
class EncoderSettings:
    """Everything the page's numbers depend on."""

    source: str
    text: str
    num_tokens: int
    d_model: int
    series_kind: str
    series_steps: int
    series_features: int
    csv: bytes | None  # the uploaded file's bytes (None: no file)
    num_layers: int
    num_heads: int
    d_ff: int
    norm_first: bool
    activation: str
    seed: int
    causal: bool
    valid_len: int | None


def divisors(n: int, limit: int = MAX_HEADS) -> list[int]:
    return [k for k in range(1, min(n, limit) + 1) if n % k == 0] if n >= 1 else [1]


def _apply_seed_000() -> None:
    st.session_state.update(SEED_000_PRESET)


def _whole(value: object, default: int) -> int:
    if isinstance(value, bool):
        return default
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def _in_range(key: str, label: str, low: int, high: int) -> str | None:
    """A value set out of its widget's range (from a link, a test, an old session) is clamped and named."""
    value = st.session_state.get(key)
    number = _whole(value, low)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high or number != value:
        st.session_state[key] = min(max(number, low), high)
        return f"{label} must be a whole number from {low} to {high}, got {value!r}; using {st.session_state[key]}"
    return None


def controls() -> tuple[EncoderSettings, list[str]]:
    """The sidebar; returns the settings and the problems (each names its control)."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    problems: list[str] = []
    for key, label, low, high in (
        (f"{P}layers", "Layers", 1, MAX_LAYERS),
        (f"{P}d_ff", "d_ff", 1, MAX_D_FF),
        (f"{P}d_model", "d_model", 1, 512),
        (f"{P}num_tokens", "Number of random tokens", 1, MAX_ENCODER_TOKENS),
        (f"{P}series_steps", "Time steps", 2, MAX_ENCODER_TOKENS),
        (f"{P}series_features", "Features", 1, 32),
    ):
        problem = _in_range(key, label, low, high)
        if problem:
            problems.append(problem)
    st.button(
        "Seed 000's time-series model (10 layers × 3 heads)",
        key=f"{P}preset_seed000",
        on_click=_apply_seed_000,
        help="The tutorial's TimeSeriesTransformer: 9 features per time step, 10 encoder layers of 3 heads, "
        "d_ff 2048, on a synthetic series of 64 steps.",
    )
    st.header("Input")
    source = st.radio("Source", ENCODER_SOURCES, key=f"{P}source")
    csv: bytes | None = None
    if source == "Sentence":
        st.text_area("Sentence", key=f"{P}text", height=90)
        tokens_text = st.session_state.get("tokens_text")
        if tokens_text and tokens_text != st.session_state[f"{P}text"]:
            st.button(
                "Use the Tokens page's sentence",
                key=f"{P}from_tokens",
                on_click=lambda: st.session_state.update({f"{P}text": st.session_state.get("tokens_text", "")}),
            )
    if source == "Random tokens":
        st.slider("Number of random tokens", 1, MAX_ENCODER_TOKENS, key=f"{P}num_tokens")
    if source in ("Sentence", "Random tokens"):
        st.number_input("d_model (width of each token vector)", 1, 512, step=1, key=f"{P}d_model")
    if source == "Time series":
        kind = st.radio("Series", SERIES_KINDS, key=f"{P}series_kind", horizontal=True)
        if kind == "Synthetic":
            st.slider("Time steps", 2, MAX_ENCODER_TOKENS, key=f"{P}series_steps")
            st.slider("Features (= d_model)", 1, 32, key=f"{P}series_features")
        else:
            upload = st.file_uploader(
                f"CSV of numbers, one row per time step (≤ {MAX_CSV_BYTES // 1_000_000} MB, ≤ "
                f"{MAX_SERIES_COLUMNS} columns)",
                type=["csv", "txt", "tsv"],
                key=f"{P}csv",
            )
            st.text_area(
                "…or paste the numbers (a header row is optional)",
                key=f"{P}csv_text",
                height=100,
                placeholder="temp,load\n1.5,20\n1.7,22\n…",
            )
            pasted = str(st.session_state[f"{P}csv_text"] or "")
            csv = upload.getvalue() if upload is not None else (pasted.encode("utf-8") if pasted.strip() else None)
            if csv is None:
                problems.append("Your CSV: no file yet — upload or paste one, or choose the synthetic series")
    d_model = _source_width(source, csv)
    st.header("Model")
    st.slider("Layers", 1, MAX_LAYERS, key=f"{P}layers")
    heads = st.session_state[f"{P}heads"] = _whole(st.session_state[f"{P}heads"], 1)
    offered = divisors(d_model) if d_model else [1]
    options = sorted(set(offered) | {heads})
    st.selectbox(
        "Heads",
        options,
        key=f"{P}heads",
        help=f"Only the divisors of d_model are offered (at most {MAX_HEADS}): each head gets d_model / heads columns.",
    )
    if d_model and d_model % heads:
        problems.append(f"Heads: d_model={d_model} is not divisible by num_heads={heads}; choose one of {offered}")
    st.number_input("d_ff (feed-forward width)", 1, MAX_D_FF, step=1, key=f"{P}d_ff")
    st.radio("LayerNorm", NORMS, key=f"{P}norm")
    st.radio("Activation", ACTIVATIONS, key=f"{P}activation", horizontal=True)
    st.number_input("Seed (embeddings and weights)", 0, 2**31 - 1, step=1, key=f"{P}seed")
    st.header("Masks")
    st.toggle("Causal mask", key=f"{P}causal")
    st.number_input(
        "Valid length (keys from here on are padding)",
        min_value=1,
        max_value=MAX_ENCODER_TOKENS,
        step=1,
        key=f"{P}valid_len",
        placeholder="none: every key is valid",
    )
    s = st.session_state
    settings = EncoderSettings(
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
        norm_first=s[f"{P}norm"] == NORMS[1],
        activation=str(s[f"{P}activation"]),
        seed=_whole(s[f"{P}seed"], 0),
        causal=bool(s[f"{P}causal"]),
        valid_len=None if s[f"{P}valid_len"] is None else _whole(s[f"{P}valid_len"], 1),
    )
    return settings, problems


def _source_width(source: str, csv: bytes | None) -> int:
    s = st.session_state
    if source == "Worked example":
        return 4
    if source == "Time series":
        if s[f"{P}series_kind"] == "Synthetic":
            return _whole(s[f"{P}series_features"], 9)
        if csv is None:
            return 0
        try:
            return cached_csv(csv).values.shape[1]
        except ValueError:
            return 0
    return _whole(s[f"{P}d_model"], 32)


@st.cache_data(max_entries=4, show_spinner=False)
def cached_csv(data: bytes):
    return parse_series_csv(data)


@st.cache_data(max_entries=16, show_spinner=False)
def cached_input(settings: EncoderSettings) -> tuple[EncoderInput, str | None]:
    """The rows the encoder reads, and a note when rows of a CSV were dropped."""
    if settings.source == "Sentence":
        return sentence_input(settings.text, settings.d_model, settings.seed), None
    if settings.source == "Worked example":
        return worked_input(), None
    if settings.source == "Random tokens":
        return random_input(settings.num_tokens, settings.d_model, settings.seed), None
    if settings.series_kind == "Synthetic":
        series = synthetic_series(settings.series_steps, settings.series_features, seed=settings.seed)
        what = (
            f"A synthetic series (seed {settings.seed}): per feature, two sines with random periods and phases, a "
            "linear trend and Gaussian noise (std 0.1)"
        )
        return series_input(series.values, what), None
    if settings.csv is None:
        raise ValueError("Your CSV: no file yet")
    parsed = cached_csv(settings.csv)
    dropped = (
        f"Your file has {parsed.total_rows} rows; the first {parsed.values.shape[0]} are used."
        if parsed.dropped_rows
        else None
    )
    return series_input(parsed.values, f"Your CSV (columns {', '.join(parsed.columns[:6])}…)"), dropped


def _model_key(settings: EncoderSettings) -> tuple:
    return (
        settings.num_layers,
        settings.num_heads,
        settings.d_ff,
        settings.norm_first,
        settings.activation,
        settings.seed,
        settings.causal,
        settings.valid_len,
    )


@st.cache_resource(max_entries=6, show_spinner="Running the encoder…")
def cached_view(source: EncoderInput, model: tuple) -> EncoderView:
    layers, heads, d_ff, norm_first, activation, seed, causal, valid_len = model
    return encoder_view(
        source,
        num_layers=layers,
        num_heads=heads,
        d_ff=d_ff,
        norm_first=norm_first,
        activation=activation,
        seed=seed,
        causal=causal,
        valid_len=valid_len,
    )


@st.cache_resource(max_entries=4, show_spinner="Running seed 000's batch both ways…")
def cached_seed_bug(features: int, seed: int, model: tuple) -> SeedBugView:
    layers, heads, d_ff, norm_first, activation, model_seed, _, _ = model
    batch = seed_batch(synthetic_series(16 * 32, features, seed=seed).values)
    return seed_bug_view(
        batch,
        num_layers=layers,
        num_heads=heads,
        d_ff=d_ff,
        norm_first=norm_first,
        activation=activation,
        seed=model_seed,
    )


def show(view: EncoderView, name: str, build) -> None:
    show_figure(cached_figure(view.key, name, build), key=f"{P}fig_{name.replace(':', '_')}")


# ------------------------------------------------------------------------------------------------------ render


def _badge(view: EncoderView) -> None:
    c = view.check
    text = (
        f"nn.TransformerEncoder with the same weights: outputs differ by at most {c.max_output_diff:.1e}, every "
        f"layer's per-head weights by at most {c.max_weight_diff:.1e} (tolerance {c.tolerance:g})."
    )
    if c.passed:
        st.success(f"Verified against PyTorch — {text}", icon=":material/verified:")
    else:
        st.error(f"Differs from PyTorch — {text}", icon=":material/error:")
    per_layer = ", ".join(f"layer {i}: {d:.1e}" for i, d in enumerate(c.layer_weight_diffs))
    st.caption(f"Largest weight difference per layer — {per_layer}.")


def _pick_panel() -> None:
    event = st.session_state.get(f"{P}model_view") or {}
    points = (event.get("selection") or {}).get("points") or []
    for point in points:
        data = point.get("customdata")
        if data and len(data) == 2:
            st.session_state[f"{P}open_layer"], st.session_state[f"{P}open_head"] = int(data[0]), int(data[1])
            st.session_state[f"{P}open_panel"] = True  # a click opens that head at full size
            return


def _model_view(view: EncoderView) -> None:
    from attnviz.encoder_figures import model_view_figure

    for key, count in ((f"{P}open_layer", view.num_layers), (f"{P}open_head", view.num_heads)):
        st.session_state[key] = min(_whole(st.session_state[key], 0), count - 1)
    pooled = view.grid_block > 1
    # The figure does not depend on the opened head: opening another one resends nothing heavy.
    fig = cached_figure(view.key, "model", lambda: model_view_figure(view.grid, top=view.grid_top, pooled=pooled))
    st.plotly_chart(
        fig,
        key=f"{P}model_view",
        on_select=_pick_panel,
        selection_mode="points",
        theme=None,
        width="content",
        config={"displayModeBar": False},
    )
    c1, c2, _ = st.columns([1, 1, 3])
    c1.selectbox("Open layer", range(view.num_layers), key=f"{P}open_layer")
    c2.selectbox("Open head", range(view.num_heads), key=f"{P}open_head")
    if pooled:
        st.caption(
            f"{view.t} tokens: each cell is a block of {view.grid_block} × {view.grid_block} tokens (the share of "
            "attention those queries give those keys). Open a head for more detail."
        )
    if view.grid_top < 1:
        st.caption(
            f"Colours saturate at {view.grid_top:.3g} (the 99th percentile of the weights) so the many small weights "
            "stay visible."
        )


def _head_stats(view: EncoderView) -> None:
    layers = [f"layer {i}" for i in range(view.num_layers)]
    heads = [f"head {h}" if view.num_heads <= 4 else f"h{h}" for h in range(view.num_heads)]
    text = view.num_heads <= 6 and view.entropy.size <= 120
    left, right = st.columns(2)
    with left:
        show(
            view,
            "entropy",
            lambda: matrix_heatmap(
                view.entropy,
                layers,
                heads,
                title=f"entropy of each head's rows (bits; uniform = {view.max_entropy:.2f})",
                kind="sequential",
                row_title="layer",
                col_title="head",
                value_title="bits",
                zmax=max(view.max_entropy, 1e-6),
                show_text=text,
            ),
        )
    with right:
        show(
            view,
            "distance",
            lambda: matrix_heatmap(
                view.distance,
                layers,
                heads,
                title="mean distance attended |i − j| (positions)",
                kind="sequential",
                row_title="layer",
                col_title="head",
                value_title="positions",
                show_text=text,
            ),
        )
    flat = int(np.argmax(view.entropy))
    sharp = int(np.argmin(view.entropy))
    far = int(np.argmax(view.distance))
    selfish = int(np.argmax(view.self_weight))
    h = view.num_heads
    st.markdown(
        f"Most spread out: layer {flat // h} head {flat % h} ({view.entropy.flat[flat]:.2f} bits). "
        f"Most focused: layer {sharp // h} head {sharp % h} ({view.entropy.flat[sharp]:.2f} bits). "
        f"Looks farthest: layer {far // h} head {far % h} (|i − j| = {view.distance.flat[far]:.1f} on average). "
        f"Looks at itself most: layer {selfish // h} head {selfish % h} "
        f"({view.self_weight.flat[selfish]:.0%} of its weight on its own token)."
    )


@st.fragment
def _opened_head(view: EncoderView) -> None:
    layer, head = st.session_state[f"{P}open_layer"], st.session_state[f"{P}open_head"]
    panel = st.expander(f"Layer {layer}, head {head} at full size", key=f"{P}open_panel", on_change="rerun")
    if not panel.open:
        return
    with panel:
        pooled = view.focus_block > 1
        show(
            view,
            f"focus:{layer}:{head}",
            lambda: matrix_heatmap(
                view.focus[layer, head],
                view.focus_labels,
                view.focus_labels,
                title=f"layer {layer} head {head}: attention weights"
                + (f" ({view.focus_block} tokens per cell)" if pooled else ""),
                kind="weights",
                zmax=1.0 if view.t <= 32 else min(1.0, robust_max(view.focus[layer, head])),
                value_title="share" if pooled else "weight",
                height=700,
            ),
        )


def _details(view: EncoderView, settings: EncoderSettings) -> None:
    """The detail sections, each in its own expander: only an open one is computed and drawn."""
    sections = [
        ("steps", "One layer, step by step", lambda: _steps(view)),
        ("head_view", "Head view: lines between tokens, as BertViz draws it", lambda: _head_view(view)),
        ("similarity", "Token similarity through the stack", lambda: _similarity(view)),
    ]
    if settings.source == "Time series" and settings.series_kind == "Synthetic":
        sections.append(
            (
                "seed_bug",
                "Seed 000's batch-axis bug: the same model as the tutorial runs it",
                lambda: _seed_bug(view, cached_seed_bug(settings.series_features, settings.seed, _model_key(settings))),
            )
        )
    for name, label, draw in sections:
        _section(name, label, draw)


@st.fragment
def _section(name: str, label: str, draw) -> None:
    panel = st.expander(label, key=f"{P}open_{name}", on_change="rerun")
    if panel.open:
        with panel:
            draw()


def _line(x, series: dict, **kwargs):
    """``line_chart`` with room for its tick labels and whole-number steps on x."""
    fig = line_chart(x, series, **kwargs)
    fig.update_layout(margin={"l": 60, "b": 50}, xaxis={"dtick": 1 if len(x) <= 24 else None})
    return fig


def _step(title: str, shape: str, sentence: str) -> None:
    st.markdown(f"**{title}** · `{shape}`  \n{sentence}")


def _steps(view: EncoderView) -> None:
    layer = st.selectbox("Layer", range(view.num_layers), key=f"{P}step_layer")
    s = view.steps[min(layer, view.num_layers - 1)]
    labels = list(s.labels)
    dims = [f"d{j}" for j in range(view.d_model)]
    if s.window < view.t:
        st.caption(f"The matrices show tokens 0 … {s.window - 1} of {view.t}; the sentences use every token.")

    def matrix(name: str, z, title: str, cols=None, col_title: str = "dim") -> None:
        show(
            view,
            f"step{s.layer}:{name}",
            lambda: matrix_heatmap(z, labels, cols or dims, title=title, row_title="token", col_title=col_title),
        )

    order = ["input", "attention", "attention_output", "residual1", "norm1", "ffn_hidden", "ffn_output", "residual2"]
    order += ["norm2", "output"]
    titles = {
        "input": "1. Input",
        "attention": "2. Multi-head self-attention",
        "attention_output": "3. Attention output",
        "residual1": "4. Add (residual)",
        "norm1": "5. LayerNorm 1",
        "ffn_hidden": "6. Feed-forward hidden layer",
        "ffn_output": "7. Feed-forward output",
        "residual2": "8. Add (residual)",
        "norm2": "9. LayerNorm 2",
        "output": "10. Output",
    }
    if s.norm_first:  # pre-norm: the norms come before attention and the FFN
        order = ["input", "norm1", "attention", "attention_output", "residual1", "norm2", "ffn_hidden"]
        order += ["ffn_output", "residual2", "output"]
        titles = {name: f"{i + 1}. {titles[name].split('. ', 1)[1]}" for i, name in enumerate(order)}
    for name in order:
        _step(titles[name], s.shapes[name], s.sentences[name])
        if name == "input":
            matrix("input", s.input, f"layer {s.layer} input")
        elif name == "attention":
            weights = view.grid[s.layer]
            glabels = view.grid_labels
            show(
                view,
                f"step{s.layer}:attention",
                lambda weights=weights, glabels=glabels: heatmap_grid(
                    weights, glabels, glabels, title=f"layer {s.layer}: each head's weights", zmax=view.grid_top,
                    max_cols=4),
            )  # fmt: skip
        elif name == "attention_output":
            matrix("attn_out", s.attention_output, "attention output (concat · W_O + b_O)")
        elif name == "residual1":
            matrix("residual1", s.residual1, "input + attention output")
        elif name in ("norm1", "norm2"):
            mean = s.norm1_mean if name == "norm1" else s.norm2_mean
            std = s.norm1_std if name == "norm1" else s.norm2_std
            standardized = s.norm1_standardized if name == "norm1" else s.norm2_standardized
            out = s.norm1_output if name == "norm1" else s.norm2_output
            show(
                view,
                f"step{s.layer}:{name}_stats",
                lambda mean=mean, std=std, name=name, standardized=standardized: _line(
                    np.arange(len(mean)),
                    {"mean before": mean, "std before": std, "mean after": standardized.mean(-1),
                     "std after": standardized.std(-1)},
                    title=f"{name}: per-token mean and std, before and after standardising",
                    x_title="token",
                ),
            )  # fmt: skip
            matrix(f"{name}_out", out, f"{name} output")
        elif name == "ffn_hidden":
            cols = [f"h{j * s.ffn_block}" for j in range(s.ffn_hidden.shape[1])]
            title = f"hidden activations ({s.activation})" + (
                f", mean of {s.ffn_block} units per column" if s.ffn_block > 1 else ""
            )
            matrix("ffn_hidden", s.ffn_hidden, title, cols, "hidden unit")
        elif name == "ffn_output":
            matrix("ffn_out", s.ffn_output, "FFN output")
        elif name == "residual2":
            matrix("residual2", s.residual2, "second residual sum")
        elif name == "output":
            matrix("output", s.output, f"layer {s.layer} output")


def _head_view(view: EncoderView) -> None:
    from attnviz.ui.head_view import head_view

    if not view.head_view_ok:
        st.info(
            f"The head view draws a line per pair of tokens: it is shown for up to {HEAD_VIEW_TOKENS} tokens "
            f"(this input has {view.t}). Use the model view and the opened head instead."
        )
        return
    layer = st.selectbox("Layer", range(view.num_layers), key=f"{P}hv_layer")
    layer = min(layer, view.num_layers - 1)
    head_view(view.grid[layer], list(view.labels), key=f"{P}head_view")


def _similarity(view: EncoderView) -> None:
    st.markdown(
        "Cosine similarity between every pair of token vectors: the input, then after each layer. Attention mixes "
        "the tokens, so their vectors tend to grow alike through the stack."
    )
    show(
        view,
        "similarity_trend",
        lambda: _line(
            np.arange(view.num_layers + 1),
            {"mean similarity between different tokens": view.mean_similarity},
            title="mean cosine similarity (0 = input, l = after layer l − 1)",
            x_title="stage",
            y_title="cosine",
        ),
    )
    stage = st.slider("Stage (0 = input, l = after layer l − 1)", 0, view.num_layers, key=f"{P}sim_stage")
    stage = min(stage, view.num_layers)
    show(
        view,
        f"similarity:{stage}",
        lambda: matrix_heatmap(
            view.similarity[stage],
            view.similarity_labels,
            view.similarity_labels,
            title="input" if stage == 0 else f"after layer {stage - 1}",
            kind="signed",
            zmax=1.0,
            row_title="token",
            col_title="token",
            value_title="cosine",
        ),
    )


def _seed_bug(view: EncoderView, bug: SeedBugView) -> None:
    st.markdown(bug.paragraph)
    samples = [f"s{i}" for i in range(bug.seed_weights.shape[-1])]
    st.markdown("**As the seed runs it**: layer 0 at time step 0, every head; rows and columns are *samples*.")
    show(
        view,
        "seed_bug_seed",
        lambda: heatmap_grid(
            bug.seed_weights,
            samples,
            samples,
            title="samples attending to samples",
            row_title="sample",
            col_title="sample",
            zmax=robust_max(bug.seed_weights),
            max_cols=bug.seed_weights.shape[0],
        ),
    )
    st.markdown("**Batch-first**: layer 0 for sample 0, every head; rows and columns are *time steps*.")
    show(
        view,
        "seed_bug_right",
        lambda: heatmap_grid(
            bug.right_weights,
            bug.right_labels,
            bug.right_labels,
            title="time steps attending to time steps",
            row_title="time step",
            col_title="time step",
            zmax=robust_max(bug.right_weights),
            max_cols=bug.right_weights.shape[0],
        ),
    )


def digest(data: bytes | None) -> str:
    return hashlib.blake2b(data or b"", digest_size=8).hexdigest()


def render() -> None:
    """The whole page."""
    st.title("The encoder: layers × heads")
    st.markdown(
        "An **encoder layer** is multi-head self-attention, then *add & norm*, then a small feed-forward network "
        "applied to every token, then *add & norm* again. Stacking layers lets tokens mix step by step. The **model "
        "view** below shows every layer × head at once; open one head, follow one layer step by step, or watch the "
        "token vectors grow alike through the stack. Every number is checked against PyTorch's "
        "`nn.TransformerEncoder` holding the same weights."
    )
    with st.sidebar:
        settings, problems = controls()
    view: EncoderView | None = None
    if not show_problems(problems, kept=KEPT):
        try:
            source, dropped = cached_input(settings)
            if dropped:
                st.info(dropped)
            view = cached_view(source, _model_key(settings))
        except ValueError as error:
            show_problems([str(error)], kept=KEPT)
        else:
            st.session_state[f"{P}last_good"] = (source, view)
    if view is None:
        last = st.session_state.get(f"{P}last_good")
        if last is None:
            return
        source, view = last
    st.caption(source.note)
    _badge(view)
    st.subheader("Model view")
    st.markdown(
        f"{view.num_layers} layers (rows) × {view.num_heads} heads (columns); rows of each cell are queries, columns "
        "keys. Click a cell to open that head below."
    )
    _model_view(view)
    _head_stats(view)
    _opened_head(view)
    _details(view, settings)
    if not math.isfinite(view.check.max_output_diff):
        st.warning("The comparison with PyTorch produced a non-finite difference.")

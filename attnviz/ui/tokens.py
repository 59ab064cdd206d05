"""The Tokens page's settings and cached views: a typed sentence, its vectors, self-attention over them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import streamlit as st

from attnviz.cells import cell_at, explain_view
from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.lab_views import RowReadout, row_readout
from attnviz.sharing import Bool, Choice, Decoded, Float, Int, StateSpec, Text
from attnviz.snippets import tokens_snippet
from attnviz.tokens import MAX_TOKENS, truncate
from attnviz.tokens import tokenize as _tokenize
from attnviz.ui.cache import digest
from attnviz.ui.cells import new_click, show_cell
from attnviz.ui.state import set_defaults
from attnviz.views import DEFAULT_SENTENCE, SentenceAttention, default_query, long_text, sentence_attention

__all__ = [
    "CHARTS",
    "DEFAULTS",
    "MODES",
    "PRESETS",
    "SHARE",
    "Settings",
    "apply_shared",
    "attention",
    "controls",
    "explain",
    "follow_click",
    "int_problem",
    "projections",
    "query_row",
    "readout",
    "shared_state",
    "tokenize_text",
]

# The heatmaps whose cells explain themselves when clicked: chart key -> the stage it draws.
CHARTS = {"tokens_fig_scores": "scores", "tokens_fig_weights": "weights"}

# Tokenization radio label (English: the code the session state and the address hold; shown translated) -> mode.
MODES = {N_("Words and punctuation"): "words", N_("Characters"): "chars"}
D_MODEL_MAX = 512
D_K_MAX = 256
# Button label (English, shown translated) -> text. The long preset shows how the page behaves at 512 tokens.
# The names are interface text; the sentences are the learner's data and stay as they are in either language.
PRESETS = {
    N_("English"): DEFAULT_SENTENCE,
    N_("中文 (Chinese)"): "动物没有过马路，因为它太累了",
    N_("Repeated words"): "the cat saw the dog and the dog saw the cat",
    N_("العربية (right to left)"): "القطة لم تعبر الشارع لأنها كانت متعبة",
    N_("512 tokens"): long_text(512),
}
DEFAULTS = {
    "tokens_text": DEFAULT_SENTENCE,
    "tokens_mode": next(iter(MODES)),
    "tokens_d_model": 16,
    "tokens_d_k": 8,
    "tokens_seed": 0,
    "tokens_pe": True,
    "tokens_scale": False,
    "tokens_bias": True,
    "tokens_causal": False,
    "tokens_temperature": 1.0,
}


TEXT_MAX_CHARS = 8000  # the longest text the address carries (the 512-token example has 2,794)
# What the address, the JSON export and an upload may set (see attnviz.sharing).
SHARE = StateSpec(
    "tokens",
    (
        Text("tokens_text", DEFAULT_SENTENCE, max_chars=TEXT_MAX_CHARS),
        Choice("tokens_mode", DEFAULTS["tokens_mode"], options=tuple(MODES)),
        Int("tokens_d_model", 16, low=1, high=D_MODEL_MAX),
        Int("tokens_d_k", 8, low=1, high=D_K_MAX),
        Int("tokens_seed", 0, low=0, high=2**31 - 1),
        Bool("tokens_pe", True),
        Bool("tokens_scale", False),
        Bool("tokens_bias", True),
        Bool("tokens_causal", False),
        Float("tokens_temperature", 1.0, positive=True, high=1e6),
        Int("tokens_query", 0, low=0, high=MAX_TOKENS - 1),  # default: the page's first query (see query_row)
    ),
)


@dataclass(frozen=True)
class Settings:
    mode: str  # "words" or "chars"
    d_model: int
    d_k: int
    seed: int
    positional: bool
    scale_embed: bool
    bias: bool
    causal: bool
    temperature: float
    problems: tuple[str, ...] = ()  # each names its control; non-empty: the settings cannot be used

    @property
    def mode_name(self) -> str:
        return _("words and punctuation") if self.mode == "words" else _("characters")

    @property
    def attention_options(self) -> dict[str, object]:
        """The keyword arguments of :func:`attnviz.views.sentence_attention`."""
        names = ("d_model", "d_k", "seed", "positional", "scale_embed", "bias", "causal", "temperature")
        return {name: getattr(self, name) for name in names}


def int_problem(label: str, value: float, low: int, high: int) -> str | None:
    """A message naming ``label`` unless ``value`` is a whole number from ``low`` to ``high``."""
    if not (math.isfinite(value) and value == int(value) and low <= value <= high):
        return _("{label} must be a whole number from {low} to {high}, got {value:g}").format(
            label=label, low=low, high=high, value=value
        )
    return None


def load_preset(name: str) -> None:
    st.session_state.tokens_text = PRESETS[name]


def controls() -> Settings:
    """The Tokens page's sidebar."""
    set_defaults(DEFAULTS)
    st.header(_("Tokens"))
    mode = st.radio(
        _("Split the text into"),
        tuple(MODES),
        format_func=_,
        key="tokens_mode",
        help=_("Characters mode suits scripts without spaces; Chinese splits per character in both modes."),
    )
    st.header(_("Embeddings"))
    d_model_label = _("d_model (embedding width)")
    range_help = _("{low} to {high}.")
    d_model = st.number_input(
        d_model_label, step=1, key="tokens_d_model", help=range_help.format(low=1, high=D_MODEL_MAX)
    )
    positional = st.toggle(
        _("Add the positional encoding"),
        key="tokens_pe",
        help=_("Without it, attention cannot tell where a token is: a repeated word gets identical rows."),
    )
    scale_embed = st.toggle(
        _("Multiply embeddings by √d_model"),
        key="tokens_scale",
        help=_(
            "The Transformer paper scales embeddings up by √d_model so they are not drowned out by the "
            "positional encoding, whose entries lie between −1 and 1."
        ),
    )
    st.header(_("Attention"))
    d_k_label = _("d_k (query/key width)")
    d_k = st.number_input(d_k_label, step=1, key="tokens_d_k", help=range_help.format(low=1, high=D_K_MAX))
    temperature = st.number_input(
        _("Temperature"),
        step=0.1,
        format="%.2f",
        key="tokens_temperature",
        help=_("Scores are multiplied by 1/(√d_k · temperature): below 1 sharpens the weights, above 1 flattens them."),
    )
    causal = st.toggle(_("Causal mask (a token sees only itself and earlier tokens)"), key="tokens_causal")
    with st.expander(_("Random projections")):
        seed = st.number_input(
            _("Seed"),
            min_value=0,
            max_value=2**31 - 1,
            step=1,
            key="tokens_seed",
            help=_("Embeddings and W_q, W_k, W_v."),
        )
        bias = st.toggle(_("Bias in the projections"), key="tokens_bias")
    problems = [
        int_problem(d_model_label, d_model, 1, D_MODEL_MAX),
        int_problem(d_k_label, d_k, 1, D_K_MAX),
    ]
    if not (math.isfinite(temperature) and temperature > 0):
        problems.append(
            _(
                "Temperature must be greater than 0, got {value:g}: scale = 1/(√d_k · temperature) "
                "needs a positive temperature"
            ).format(value=temperature)
        )
    return Settings(
        mode=MODES[mode],
        d_model=int(d_model) if math.isfinite(d_model) else 0,
        d_k=int(d_k) if math.isfinite(d_k) else 0,
        seed=int(seed),
        positional=bool(positional),
        scale_embed=bool(scale_embed),
        bias=bool(bias),
        causal=bool(causal),
        temperature=float(temperature),
        problems=tuple(p for p in problems if p),
    )


@st.cache_data(max_entries=32, show_spinner=False)
def tokenize_text(text: str, mode: str, max_tokens: int = MAX_TOKENS) -> tuple[tuple[str, ...], int]:
    """``(the first max_tokens tokens of text, how many more were cut)``."""
    kept, cut = truncate(_tokenize(text, mode), max_tokens)
    return tuple(kept), cut


@st.cache_data(max_entries=32, show_spinner=False)
def attention(tokens: tuple[str, ...], settings: Settings) -> SentenceAttention:
    """:func:`attnviz.views.sentence_attention` of the tokens with the settings, once per distinct input."""
    return sentence_attention(tokens, **settings.attention_options)


@st.cache_data(max_entries=32, show_spinner=False)
def _readout(key: str, _weights) -> RowReadout:
    return row_readout(_weights)


def readout(result: SentenceAttention) -> RowReadout:
    """Entropy and effective keys of every row of the weights (:func:`attnviz.lab_views.row_readout`)."""
    return _readout(digest(result.weights), result.weights)


def query_row(result: SentenceAttention) -> None:
    """Choose the query row shown for new tokens: the one a shared address names (once), else the default."""
    s = st.session_state
    if s.get("tokens_query_for") != result.tokens:
        shared = s.get("tokens_query") if s.pop("tokens_query_shared", False) else None
        s.tokens_query = shared if isinstance(shared, int) and 0 <= shared < len(result.tokens) else None
        if s.tokens_query is None:
            s.tokens_query = default_query(result.tokens)
        s.tokens_query_for = result.tokens


def apply_shared(decoded: Decoded, reset: bool) -> None:
    """A shared address's query row is kept when its tokens are first drawn (:func:`query_row`)."""
    st.session_state.tokens_query_shared = "tokens_query" in decoded.settings
    if reset:
        st.session_state.pop("tokens_query_for", None)


@st.cache_data(max_entries=16, show_spinner=False)
def projections(d_model: int, d_k: int, bias: bool, seed: int) -> dict[str, np.ndarray]:
    """``SelfAttention(d_model, d_k, bias=bias, seed=seed)``'s ``w_q, w_k`` ``(d_model, d_k)`` and ``b_q, b_k``
    ``(d_k,)``: the projections behind the page's scores."""
    from attnviz.modules import SelfAttention

    module = SelfAttention(d_model, d_k, bias=bias, seed=seed)
    return {n: p.detach().numpy().copy() for n, p in module.named_parameters() if n[-1] in "qk"}


def shared_state(result: SentenceAttention, settings: Settings) -> dict[str, object]:
    """The keyword arguments of :func:`attnviz.ui.share.panel` for this page."""
    labels = result.labels
    dims = tuple(str(j) for j in range(settings.d_model))
    w = projections(settings.d_model, settings.d_k, settings.bias, settings.seed)
    dims_k = tuple(f"d{j}" for j in range(settings.d_k))
    computed = {
        "x": (result.x, labels, dims),
        "scores": (result.scores, labels, labels),
        "scaled": (result.scaled, labels, labels),
        "weights": (result.weights, labels, labels),
        "w_q": (w["w_q"], dims, dims_k),
        "w_k": (w["w_k"], dims, dims_k),
    }
    if settings.bias:
        computed |= {n: (w[n][None, :], (n,), dims_k) for n in ("b_q", "b_k")}

    def code() -> str:
        b = (w["b_q"], w["b_k"]) if settings.bias else (None, None)
        return tokens_snippet(
            result.x, w["w_q"], w["w_k"], *b, temperature=settings.temperature, causal=settings.causal
        )

    return {
        "matrices": {},
        "computed": computed,
        "code": code,
        "defaults": {"tokens_query": default_query(result.tokens)},
        "apply": apply_shared,
    }


def follow_click(result: SentenceAttention) -> None:
    """A new click on a scores or weights cell makes its query the one shown as bars (before that box is drawn)."""
    click = new_click(CHARTS, "tokens_seen")
    cell = None if click is None else cell_at(click[1], result.labels, result.labels)
    if cell is not None:
        st.session_state.tokens_query = cell[0]
        st.session_state.tokens_query_for = result.tokens


def explain(result: SentenceAttention, stage: str, point: dict | None) -> None:
    """The clicked cell of the ``stage`` heatmap, written out under it (nothing before a click)."""
    cell = cell_at(point, result.labels, result.labels)
    if cell is not None:
        show_cell(explain_view(result, stage, cell[0], cell[1], labels=result.labels))

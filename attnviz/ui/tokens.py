"""The Tokens page's settings and cached views: a typed sentence, its vectors, self-attention over them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import streamlit as st

from attnviz.tokens import MAX_TOKENS, truncate
from attnviz.tokens import tokenize as _tokenize
from attnviz.ui.state import set_defaults
from attnviz.views import DEFAULT_SENTENCE, SentenceAttention, long_text, sentence_attention

__all__ = ["DEFAULTS", "MODES", "PRESETS", "Settings", "attention", "controls", "int_problem", "tokenize_text"]

# Tokenization radio label -> attnviz.tokens mode.
MODES = {"Words and punctuation": "words", "Characters": "chars"}
D_MODEL_MAX = 512
D_K_MAX = 256
# Button label -> text. The long preset shows how the page behaves at 512 tokens.
PRESETS = {
    "English": DEFAULT_SENTENCE,
    "中文 (Chinese)": "动物没有过马路，因为它太累了",
    "Repeated words": "the cat saw the dog and the dog saw the cat",
    "العربية (right to left)": "القطة لم تعبر الشارع لأنها كانت متعبة",
    "512 tokens": long_text(512),
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
        return "words and punctuation" if self.mode == "words" else "characters"

    @property
    def attention_options(self) -> dict[str, object]:
        """The keyword arguments of :func:`attnviz.views.sentence_attention`."""
        names = ("d_model", "d_k", "seed", "positional", "scale_embed", "bias", "causal", "temperature")
        return {name: getattr(self, name) for name in names}


def int_problem(label: str, value: float, low: int, high: int) -> str | None:
    """A message naming ``label`` unless ``value`` is a whole number from ``low`` to ``high``."""
    if not (math.isfinite(value) and value == int(value) and low <= value <= high):
        return f"{label} must be a whole number from {low} to {high}, got {value:g}"
    return None


def load_preset(name: str) -> None:
    st.session_state.tokens_text = PRESETS[name]


def controls() -> Settings:
    """The Tokens page's sidebar."""
    set_defaults(DEFAULTS)
    st.header("Tokens")
    mode = st.radio(
        "Split the text into",
        tuple(MODES),
        key="tokens_mode",
        help="Characters mode suits scripts without spaces; Chinese splits per character in both modes.",
    )
    st.header("Embeddings")
    d_model = st.number_input("d_model (embedding width)", step=1, key="tokens_d_model", help=f"1 to {D_MODEL_MAX}.")
    positional = st.toggle(
        "Add the positional encoding",
        key="tokens_pe",
        help="Without it, attention cannot tell where a token is: a repeated word gets identical rows.",
    )
    scale_embed = st.toggle(
        "Multiply embeddings by √d_model",
        key="tokens_scale",
        help="The Transformer paper scales embeddings up by √d_model so they are not drowned out by the "
        "positional encoding, whose entries lie between −1 and 1.",
    )
    st.header("Attention")
    d_k = st.number_input("d_k (query/key width)", step=1, key="tokens_d_k", help=f"1 to {D_K_MAX}.")
    temperature = st.number_input(
        "Temperature",
        step=0.1,
        format="%.2f",
        key="tokens_temperature",
        help="Scores are multiplied by 1/(√d_k · temperature): below 1 sharpens the weights, above 1 flattens them.",
    )
    causal = st.toggle("Causal mask (a token sees only itself and earlier tokens)", key="tokens_causal")
    with st.expander("Random projections"):
        seed = st.number_input(
            "Seed", min_value=0, max_value=2**31 - 1, step=1, key="tokens_seed", help="Embeddings and W_q, W_k, W_v."
        )
        bias = st.toggle("Bias in the projections", key="tokens_bias")
    problems = [
        int_problem("d_model (embedding width)", d_model, 1, D_MODEL_MAX),
        int_problem("d_k (query/key width)", d_k, 1, D_K_MAX),
    ]
    if not (math.isfinite(temperature) and temperature > 0):
        problems.append(
            f"Temperature must be greater than 0, got {temperature:g}: scale = 1/(√d_k · temperature) "
            "needs a positive temperature"
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

"""Pure display models for the attention lab: what each section shows, as numpy arrays and numbers.

Each function takes the lab's inputs (:class:`attnviz.lab.LabInputs`) and a section's settings and returns a
frozen view; the page only draws them. Rows are queries, columns are keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.additive import AdditiveAttention
from attnviz.attention import AttentionTrace, attend
from attnviz.cells import CellExplanation, explain_cell
from attnviz.dropout import dropout_attention
from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.lab import LabInputs
from attnviz.masks import causal_mask, padding_mask, parse_mask_grid, sliding_window_mask
from attnviz.modules import SelfAttention
from attnviz.scaling import ScalingPoint, dot_product_samples, scaling_experiment
from attnviz.stats import effective_keys, row_entropy

__all__ = [
    "FILL_LABELS",
    "FILL_VALUES",
    "MASK_KINDS",
    "SCALING_D_KS",
    "SCORE_FUNCTIONS",
    "SCORE_NAMES",
    "TAU_RANGE",
    "BugView",
    "DropoutView",
    "MaskSpec",
    "MaskView",
    "RowReadout",
    "ScalingView",
    "ScoreView",
    "TemperatureView",
    "additive_parameters",
    "bug_view",
    "build_mask",
    "check_tau",
    "dropout_view",
    "fill_value_story",
    "mask_view",
    "row_readout",
    "scaling_points",
    "scaling_view",
    "score_cell",
    "score_view",
    "temperature_view",
]

SCORE_FUNCTIONS = {
    "dot": N_("q·k — Luong's dot score; cheap, but its spread grows with d_k (next section)."),
    "scaled dot": N_("q·k / √d_k — the Transformer's choice: dot's speed with a spread that stays near 1."),
    "cosine": N_(
        "q·k / (‖q‖ ‖k‖) — only the angle counts, every score in [−1, 1]; used with a learned "
        "temperature (e.g. Swin v2), since by itself it can never be sharp."
    ),
    "additive": N_(
        "tanh(q W_q + k W_k) · w_v — Bahdanau's score, a small network; works when q and k have "
        "different widths, slower than a matrix product."
    ),
}
"""The score functions side by side, each with the one sentence the page shows (a catalog message: translate
it where it is shown)."""

SCORE_NAMES = {"dot": N_("dot"), "scaled dot": N_("scaled dot"), "cosine": N_("cosine"), "additive": N_("additive")}
"""Each score function's name as the interface shows it (a catalog message); the views keep the codes."""

SCALING_D_KS = tuple(2**i for i in range(11))  # 1 … 1024
TAU_RANGE = (0.05, 20.0)

MASK_KINDS = ("none", "causal", "padding, one length", "padding, per query", "sliding window", "painted")
FILL_VALUES: dict[str, float | None] = {"exact": None, "-1e9": -1e9, "-1e6": -1e6, "0": 0.0}
"""Fill value code -> the value written into masked scores (None: exact masking)."""
FILL_LABELS = {
    "exact": N_("exact (−inf; a fully masked row gets 0)"),
    "-1e9": N_("−1e9 (the seeds)"),
    "-1e6": N_("−1e6 (d2l)"),
    "0": N_("0 (the bug)"),
}
"""Fill value code -> its label (a catalog message)."""


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float64)


# --- 1. score functions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreView:
    """The four score functions on the same Q, K, V, stacked in :data:`SCORE_FUNCTIONS` order."""

    labels: tuple[str, ...]  # T axis labels, rows and columns
    names: tuple[str, ...]  # the score functions' codes (SCORE_NAMES shows them)
    notes: tuple[str, ...]  # one sentence each, when it is used: English catalog messages, translated when shown
    scores: np.ndarray  # (4, T_q, T_k)  what each softmax receives (after any scaling)
    weights: np.ndarray  # (4, T_q, T_k)


def _additive(d_k: int, seed: int) -> AdditiveAttention:
    return AdditiveAttention(d_k, d_k, d_k, seed=seed).double()


def additive_parameters(d_k: int, *, seed: int = 0) -> dict[str, np.ndarray]:
    """The additive score function's weights :func:`score_view` uses: ``additive_w_q``, ``additive_w_k``
    ``(d_k, d_k)`` and ``additive_w_v`` ``(d_k,)``, float64."""
    module = _additive(d_k, seed)
    return {f"additive_{n}": _np(getattr(module, n)) for n in ("w_q", "w_k", "w_v")}


def score_view(inputs: LabInputs, *, seed: int = 0) -> ScoreView:
    """Dot, scaled dot, cosine and additive scores and weights on the same Q, K, V (additive: hidden = d_k)."""
    q, k, v = inputs.query, inputs.key, inputs.value
    additive = _additive(inputs.d_k, seed)
    with torch.no_grad():
        traces = {
            "dot": attend(q, k, v, scale=1.0),
            "scaled dot": attend(q, k, v),
            "cosine": attend(q, k, v, score="cosine"),
            "additive": additive(q, k, v),
        }
    return ScoreView(
        labels=inputs.labels,
        names=tuple(traces),
        notes=tuple(SCORE_FUNCTIONS[name] for name in traces),
        scores=np.stack([_np(t.scaled) for t in traces.values()]),
        weights=np.stack([_np(t.weights) for t in traces.values()]),
    )


SCORE_CELL_NOTES = {
    "dot": N_("Dot product: no scaling, so the softmax receives q·k itself."),
    "scaled dot": N_("Scaled dot product: q·k times 1/√d_k = 1/√{d_k}."),
    "cosine": N_(
        "Cosine: q and k are each divided by their length first, so the score is q·k / (‖q‖ ‖k‖); the "
        "terms below are those of the unit-length rows."
    ),
}


def score_cell(inputs: LabInputs, view: ScoreView, function: int, stage: str, row: int, col: int) -> CellExplanation:
    """The arithmetic of one cell of the score-function panels: ``stage`` ``"scaled"`` (the score the softmax
    receives, ``view.scores``) or ``"weights"``, of score function ``view.names[function]``.

    The additive score is not a dot product: only its weights are written out (``ValueError`` for its score).
    """
    if not 0 <= function < len(view.names):
        raise ValueError(f"function={function} is not one of 0 … {len(view.names) - 1} ({', '.join(view.names)})")
    name = view.names[function]
    if stage not in ("scaled", "weights"):
        raise ValueError(f"stage={stage!r} is not 'scaled' or 'weights'")
    if name == "additive" and stage == "scaled":
        raise ValueError("the additive score tanh(q W_q + k W_k)·w_v is not written out term by term")
    q, k = _np(inputs.query), _np(inputs.key)
    if name == "cosine":
        q, k = (m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), np.finfo(np.float64).tiny) for m in (q, k))
    scale = 1.0 / math.sqrt(inputs.d_k) if name == "scaled dot" else 1.0
    drawn = view.scores[function] if stage == "scaled" else view.weights[function]
    cell = explain_cell(
        "scaled" if stage == "scaled" and name == "scaled dot" else ("scores" if stage == "scaled" else stage),
        row,
        col,
        query=q,
        key=k,
        value=_np(inputs.value),
        scale=scale,
        masked=view.scores[function],
        weights=view.weights[function],
        drawn=drawn,
        labels=view.labels,
    )
    if stage == "weights":
        shown = _(SCORE_NAMES[name])
        note = _("{function} scores: the softmax of this query's row of the “{name}: scores” heatmap below.").format(
            function=shown.capitalize(), name=shown
        )
    else:
        note = _(SCORE_CELL_NOTES[name]).format(d_k=inputs.d_k)
    return CellExplanation(**{**cell.__dict__, "note": note})


# --- 2. why √d_k -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScalingView:
    d_k: int
    row_labels: tuple[str, ...]  # the sample queries shown as weights
    key_labels: tuple[str, ...]
    raw: np.ndarray  # (N, T_k)  q·k samples at this d_k
    scaled: np.ndarray  # (N, T_k)  q·k / √d_k
    points: tuple[ScalingPoint, ...]  # the curves over SCALING_D_KS
    current: ScalingPoint  # the statistics at d_k
    weights_unscaled: np.ndarray  # (T, T_k)  a few rows of softmax(q·k)
    weights_scaled: np.ndarray  # (T, T_k)  the same rows, softmax(q·k / √d_k)


def scaling_points(*, seed: int = 0, num_queries: int = 128, num_keys: int = 16) -> tuple[ScalingPoint, ...]:
    """The √d_k experiment over :data:`SCALING_D_KS` (the curves; about 2 s, so pages cache it)."""
    return tuple(scaling_experiment(SCALING_D_KS, num_queries=num_queries, num_keys=num_keys, seed=seed))


def scaling_view(
    d_k: int,
    *,
    seed: int = 0,
    num_queries: int = 128,
    num_keys: int = 16,
    rows: int = 8,
    points: tuple[ScalingPoint, ...] | None = None,
) -> ScalingView:
    """The √d_k experiment at one d_k (histograms, weights, its statistics) with the curves of ``points``
    (computed by :func:`scaling_points` with the same seed and sizes when not given)."""
    if points is None:
        points = scaling_points(seed=seed, num_queries=num_queries, num_keys=num_keys)
    raw, scaled = dot_product_samples(d_k, num_queries=num_queries, num_keys=num_keys, seed=seed)
    by_d_k = {p.d_k: p for p in points}
    current = by_d_k.get(d_k) or scaling_experiment([d_k], num_queries=num_queries, num_keys=num_keys, seed=seed)[0]
    shown = min(rows, num_queries)
    return ScalingView(
        d_k=d_k,
        row_labels=tuple(f"q{i}" for i in range(shown)),
        key_labels=tuple(f"k{j}" for j in range(num_keys)),
        raw=_np(raw),
        scaled=_np(scaled),
        points=points,
        current=current,
        weights_unscaled=_np(torch.softmax(raw[:shown], dim=-1)),
        weights_scaled=_np(torch.softmax(scaled[:shown], dim=-1)),
    )


# --- 3. temperature ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemperatureView:
    labels: tuple[str, ...]
    tau: float
    weights: np.ndarray  # (T_q, T_k)  softmax(q·k / √d_k / τ)
    entropy_bits: np.ndarray  # (T_q,)
    effective_keys: np.ndarray  # (T_q,)  2 ** entropy: 1 = one key, T_k = all keys equally
    gap_to_argmax: float  # max |weights − one-hot at each row's largest score|
    gap_to_uniform: float  # max |weights − 1/T_k|


def temperature_view(inputs: LabInputs, tau: float) -> TemperatureView:
    """Scaled dot-product weights at temperature τ, with the per-row readout (entropy, effective keys)."""
    with torch.no_grad():
        trace = attend(inputs.query, inputs.key, inputs.value, temperature=tau)
    w = trace.weights  # (T_q, T_k)
    one_hot = torch.nn.functional.one_hot(trace.scaled.argmax(dim=-1), w.shape[-1]).to(w.dtype)
    return TemperatureView(
        labels=inputs.labels,
        tau=float(tau),
        weights=_np(w),
        entropy_bits=_np(row_entropy(w)),
        effective_keys=_np(effective_keys(w)),
        gap_to_argmax=float((w - one_hot).abs().max()),
        gap_to_uniform=float((w - 1.0 / w.shape[-1]).abs().max()),
    )


@dataclass(frozen=True)
class RowReadout:
    """How spread out each query row is (the Tokens page shows it too)."""

    entropy_bits: np.ndarray  # (T_q,)  −Σ w log2 w
    effective_keys: np.ndarray  # (T_q,)  2 ** entropy

    @property
    def mean_effective_keys(self) -> float:
        return float(self.effective_keys.mean())


def row_readout(weights: np.ndarray) -> RowReadout:
    """Entropy in bits and effective number of keys of every row of ``weights`` ``(T_q, T_k)``."""
    w = torch.from_numpy(np.asarray(weights, dtype=np.float64))
    return RowReadout(entropy_bits=_np(row_entropy(w)), effective_keys=_np(effective_keys(w)))


# --- 4. dropout ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DropoutView:
    labels: tuple[str, ...]
    p: float
    train: bool
    weights: np.ndarray  # (T_q, T_k)  before dropout
    dropped: np.ndarray  # (T_q, T_k)  after
    row_sums: np.ndarray  # (T_q,)
    output_change: float  # max |output with dropout − output without|


def dropout_view(inputs: LabInputs, p: float, *, seed: int = 0, train: bool = True) -> DropoutView:
    """Seed 003's ``dropout(p_attn)`` on the scaled dot-product weights."""
    with torch.no_grad():
        trace = attend(inputs.query, inputs.key, inputs.value)
        dropped = dropout_attention(trace, p, seed=seed, train=train)
    return DropoutView(
        labels=inputs.labels,
        p=float(p),
        train=bool(train),
        weights=_np(trace.weights),
        dropped=_np(dropped.dropped),
        row_sums=_np(dropped.row_sums),
        output_change=float((dropped.output - trace.output).abs().max()),
    )


# --- 5. masks --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaskSpec:
    """How to build the lab's (T, T) mask. ``grid`` is the painted mask (rows of 0/1), used for "painted"."""

    kind: str = "none"
    valid_len: int = 1  # "padding, one length": every query sees keys 0 … valid_len − 1
    valid_lens: tuple[int, ...] = ()  # "padding, per query": one length per query row
    width: int = 3  # "sliding window"
    causal_window: bool = False
    grid: tuple[tuple[bool, ...], ...] = ()


def build_mask(spec: MaskSpec, t: int) -> torch.Tensor | None:
    """The (T, T) boolean mask of ``spec`` (True = may attend), or None for "none"."""
    if spec.kind not in MASK_KINDS:
        raise ValueError(f"mask kind must be one of {MASK_KINDS}, got {spec.kind!r}")
    if spec.kind == "none":
        return None
    if spec.kind == "causal":
        return causal_mask(t)
    if spec.kind == "padding, one length":
        return padding_mask([spec.valid_len], t, t)[0]  # (T, T)
    if spec.kind == "padding, per query":
        if len(spec.valid_lens) != t:
            raise ValueError(f"valid_lens has {len(spec.valid_lens)} entries; give one per query (T={t})")
        return padding_mask([list(spec.valid_lens)], t, t)[0]  # (T, T)
    if spec.kind == "sliding window":
        return sliding_window_mask(t, width=spec.width, causal=spec.causal_window)
    return parse_mask_grid([list(row) for row in spec.grid], shape=(t, t))


@dataclass(frozen=True)
class MaskView:
    labels: tuple[str, ...]
    fill_value: float | None
    mask: np.ndarray  # (T, T)  1.0 = may attend, 0.0 = masked
    masked: np.ndarray  # (T, T)  the softmax's input: −inf (shown blank) or the fill value where masked
    zmax: float  # max |masked| over the visible cells: the colour bound (a fill value would swamp it)
    weights: np.ndarray  # (T, T)
    fully_masked: tuple[int, ...]  # query rows that may attend to no key
    leaked: float  # the largest weight a masked key received in a row with a visible key (0 when masking works)
    fully_masked_rows: np.ndarray  # (n, T)  the weights of the fully masked rows


def mask_view(inputs: LabInputs, spec: MaskSpec, fill_value: float | None) -> MaskView:
    """Scaled dot-product attention under ``spec``'s mask, masked exactly or with ``masked_fill(fill_value)``."""
    mask = build_mask(spec, len(inputs.tokens))
    with torch.no_grad():
        trace = attend(inputs.query, inputs.key, inputs.value, mask=mask, fill_value=fill_value)
    allowed = trace.mask
    fully = [int(i) for i in torch.nonzero(trace.fully_masked).reshape(-1)]
    # weight on masked keys, in rows that have a visible key (fully masked rows are told apart)
    leaked = trace.weights.masked_fill(allowed | trace.fully_masked.unsqueeze(-1), 0.0)
    return MaskView(
        labels=inputs.labels,
        fill_value=fill_value,
        mask=allowed.detach().numpy().astype(np.float64),
        masked=_np(trace.masked),
        zmax=float(trace.masked[allowed].abs().max()) if bool(allowed.any()) else 1.0,
        weights=_np(trace.weights),
        fully_masked=tuple(fully),
        leaked=float(leaked.max()) if leaked.numel() else 0.0,
        fully_masked_rows=_np(trace.weights[fully]) if fully else np.zeros((0, trace.weights.shape[-1])),
    )


def _sentences(parts: list[str]) -> str:
    """Sentences one after another (a space between them in English, none in Chinese)."""
    text = parts[0]
    for part in parts[1:]:
        text = _("{first} {second}").format(first=text, second=part)
    return text


def fill_value_story(view: MaskView) -> str:
    """One paragraph on what this fill value did, with the view's numbers (in the current language)."""
    t_k = view.weights.shape[-1]
    rows = ", ".join(str(i) for i in view.fully_masked)
    if view.fill_value is None:
        parts = [_("Exact masking: masked keys get weight exactly 0.")]
        if view.fully_masked:
            parts.append(
                _(
                    "Query row(s) {rows} may attend to no key: their weights and output are 0 (flagged, never NaN)."
                ).format(rows=rows)
            )
        return _sentences(parts)
    if view.leaked > 0:
        effect = _("masked keys still receive weight (up to {leaked:.3f}) — the mask leaks.").format(leaked=view.leaked)
    else:
        effect = _("masked keys get weight 0 (to float precision) as long as the row has a visible key.")
    parts = [
        _("`masked_fill(scores, {fill:g})` before the softmax: {effect}").format(fill=view.fill_value, effect=effect)
    ]
    if view.fully_masked:
        parts.append(
            _(
                "Query row(s) {rows} have every key masked: every entry equals {fill:g}, so the softmax is uniform, "
                "1/{t_k} = {share:.3f} on each key — the query averages values it must not see."
            ).format(rows=rows, fill=view.fill_value, t_k=t_k, share=1 / t_k)
        )
    return _sentences(parts)


# --- 6. the tutorial's SelfAttention bug ------------------------------------------------------------------


@dataclass(frozen=True)
class BugView:
    labels: tuple[str, ...]
    buggy_scores: np.ndarray  # (T, T)  Q·Qᵀ / √d_k: K was computed with q_linear
    buggy_weights: np.ndarray
    fixed_scores: np.ndarray  # (T, T)  Q·Kᵀ / √d_k
    fixed_weights: np.ndarray
    asymmetry_buggy: float  # max |S − Sᵀ|: 0 for the bug
    asymmetry_fixed: float
    self_share_buggy: float  # fraction of rows whose largest weight is on the diagonal
    self_share_fixed: float


def bug_view(inputs: LabInputs) -> BugView:
    """Seed 003's ``SelfAttention`` as written (``k = v = q_linear(x)``) next to the fixed one, same weights."""
    traces = {}
    for buggy in (True, False):
        module = SelfAttention.from_matrices(inputs.w_q, inputs.w_k, inputs.w_v, tutorial_bug=buggy)
        with torch.no_grad():
            traces[buggy] = module(inputs.x)

    def asymmetry(trace: AttentionTrace) -> float:
        return float((trace.scaled - trace.scaled.T).abs().max())

    def self_share(trace: AttentionTrace) -> float:
        t = trace.weights.shape[0]
        return float((trace.weights.argmax(dim=-1) == torch.arange(t)).double().mean())

    return BugView(
        labels=inputs.labels,
        buggy_scores=_np(traces[True].scaled),
        buggy_weights=_np(traces[True].weights),
        fixed_scores=_np(traces[False].scaled),
        fixed_weights=_np(traces[False].weights),
        asymmetry_buggy=asymmetry(traces[True]),
        asymmetry_fixed=asymmetry(traces[False]),
        self_share_buggy=self_share(traces[True]),
        self_share_fixed=self_share(traces[False]),
    )


def check_tau(tau: float) -> float:
    """τ within the slider's range, or a ValueError quoting it."""
    if not (isinstance(tau, (int, float)) and math.isfinite(tau) and TAU_RANGE[0] <= tau <= TAU_RANGE[1]):
        raise ValueError(f"τ={tau!r} is outside {TAU_RANGE[0]}…{TAU_RANGE[1]}")
    return float(tau)

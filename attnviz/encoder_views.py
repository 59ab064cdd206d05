"""Display models for the Encoder page: what to show of an encoder stack, pooled how, with the sentences that
explain each step computed from the numbers. Pure (numpy + torch, no streamlit), unit-tested.

Shapes: L layers, H heads, T tokens, G display cells per side of a pooled T × T matrix (G = T when not pooled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.arrays import pool_blocks, pool_factor, range_labels, read_only, robust_max
from attnviz.encoder import (
    EncoderCheck,
    EncoderLayerTrace,
    EncoderTrace,
    LayerNormTrace,
    TimeSeriesTransformer,
    check_encoder_against_torch,
)
from attnviz.encoder_share import build_encoder
from attnviz.i18n import gettext as _
from attnviz.stats import mean_distance, row_entropy, token_similarity

__all__ = [
    "ENCODER_SOURCES",
    "GRID_CELLS",
    "HEAD_VIEW_TOKENS",
    "MAX_ENCODER_TOKENS",
    "EncoderInput",
    "EncoderView",
    "LayerSteps",
    "SeedBugView",
    "encoder_view",
    "head_summary",
    "layer_steps",
    "random_input",
    "seed_bug_view",
    "sentence_input",
    "series_input",
    "worked_input",
]

ENCODER_SOURCES = ("Sentence", "Worked example", "Random tokens", "Time series")
MAX_ENCODER_TOKENS = 512
GRID_CELLS = 64  # model-view cells show at most this many positions a side (pooled above)
GRID_TOTAL_CELLS = 32 * GRID_CELLS * GRID_CELLS  # over all L × H panels: ~700 kB of float32 (4 × 8 at 64 a side)
FOCUS_CELLS = 256  # the opened head at full resolution up to this many tokens
HEAD_VIEW_TOKENS = 64  # the line-drawn head view for up to this many tokens
STEP_WINDOW = 64  # the step-by-step matrices show tokens 0 … 63
FFN_COLUMNS = 256  # FFN hidden heatmap: at most this many hidden units (mean-pooled above)
SIMILARITY_CELLS = 64


@dataclass(frozen=True)
class EncoderInput:
    """The rows the encoder reads and what they are."""

    x: np.ndarray  # (T, d_model) float32, positional encoding included
    labels: tuple[str, ...]  # unique axis labels, one per row
    note: str  # a sentence or two on where X came from
    kind: str  # "tokens" or "series"


def sentence_input(text: str, d_model: int, seed: int) -> EncoderInput:
    """The sentence's tokens (the first 512), embedded (d_model, seed) plus the sinusoidal positional encoding."""
    from attnviz.tokens import input_embeddings, token_labels, tokenize, truncate

    tokens, cut = truncate(tokenize(text), MAX_ENCODER_TOKENS)
    if not tokens:
        raise ValueError(_("the sentence has no tokens: type one or choose another source"))
    x = input_embeddings(tokens, d_model, seed=seed, positional=True).numpy()
    count = (_("{count} tokens (the first {limit}; {cut} cut)") if cut else _("{count} tokens")).format(
        count=len(tokens), limit=MAX_ENCODER_TOKENS, cut=cut
    )
    note = _(
        "{count}, each embedded as a random vector of d_model = {d_model} numbers (seed {seed}) plus the sinusoidal "
        "positional encoding, so the encoder can tell positions apart."
    ).format(count=count, d_model=d_model, seed=seed)
    return EncoderInput(x.astype(np.float32), tuple(token_labels(tokens)), note, "tokens")


def worked_input() -> EncoderInput:
    """The worked example's X (3 × 4) as it is: d_model = 4, no positional encoding."""
    from attnviz.examples import WORKED_EXAMPLE

    x = np.array(WORKED_EXAMPLE.x, dtype=np.float32)
    note = _("The worked example's X (3 tokens × d_model = 4) as it is, without a positional encoding.")
    return EncoderInput(x, ("x1", "x2", "x3"), note, "tokens")


RANDOM_VOCAB = 100


def random_input(num_tokens: int, d_model: int, seed: int) -> EncoderInput:
    """``num_tokens`` tokens drawn from t0 … t99 (seeded), embedded, plus the sinusoidal positional encoding."""
    from attnviz.tokens import input_embeddings, token_labels

    if not 1 <= num_tokens <= MAX_ENCODER_TOKENS:
        raise ValueError(
            _("number of random tokens={count} must be from 1 to {limit}").format(
                count=num_tokens, limit=MAX_ENCODER_TOKENS
            )
        )
    ids = np.random.default_rng(seed).integers(0, RANDOM_VOCAB, size=num_tokens)
    tokens = [f"t{i}" for i in ids]
    x = input_embeddings(tokens, d_model, seed=seed, positional=True).numpy()
    note = _(
        "{count} tokens drawn at random (seed {seed}) from t0 … t{last}, embedded with d_model = {d_model} plus the "
        "sinusoidal positional encoding."
    ).format(count=num_tokens, seed=seed, last=RANDOM_VOCAB - 1, d_model=d_model)
    return EncoderInput(x.astype(np.float32), tuple(token_labels(tokens)), note, "tokens")


def series_input(values: np.ndarray, what: str) -> EncoderInput:
    """A series ``(T, F)``: each column standardised, plus seed 000's positional encoding (d_model = F, odd allowed)."""
    from attnviz.positional import seed_odd_variant_encoding
    from attnviz.series import standardize

    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < 1:
        raise ValueError(_("the series must have shape (T, F), got {shape}").format(shape=values.shape))
    t, f = values.shape
    if t > MAX_ENCODER_TOKENS:
        raise ValueError(
            _("the series has {steps} time steps; at most {limit}").format(steps=t, limit=MAX_ENCODER_TOKENS)
        )
    pe = seed_odd_variant_encoding(t, f, dtype=torch.float64).numpy()
    x = standardize(values) + pe
    note = _(
        "{what}: {steps} time steps × {features} features. Each feature is standardised (mean 0, std 1) and seed "
        "000's positional encoding is added; the features are the model width, d_model = {features}."
    ).format(what=what, steps=t, features=f)
    return EncoderInput(x.astype(np.float32), tuple(f"t{i}" for i in range(t)), note, "series")


@dataclass(frozen=True)
class LayerSteps:
    """One layer, step by step, for tokens 0 … window−1 (every matrix ``(window, ·)``), with a sentence per step."""

    layer: int
    window: int
    labels: tuple[str, ...]  # (window,)
    norm_first: bool
    activation: str
    input: np.ndarray  # (W, d_model)
    attention_output: np.ndarray  # (W, d_model)
    residual1: np.ndarray  # (W, d_model)
    norm1_mean: np.ndarray  # (W,)  per-token mean before LayerNorm 1
    norm1_std: np.ndarray  # (W,)  per-token sqrt(var + eps) before LayerNorm 1
    norm1_standardized: np.ndarray  # (W, d_model)
    norm1_output: np.ndarray  # (W, d_model)
    ffn_hidden: np.ndarray  # (W, C) hidden activations, C = d_ff or pooled to FFN_COLUMNS
    ffn_block: int  # hidden units per displayed column (1 = all shown)
    ffn_output: np.ndarray  # (W, d_model)
    residual2: np.ndarray  # (W, d_model)
    norm2_mean: np.ndarray  # (W,)
    norm2_std: np.ndarray  # (W,)
    norm2_standardized: np.ndarray  # (W, d_model)
    norm2_output: np.ndarray  # (W, d_model)
    output: np.ndarray  # (W, d_model)
    shapes: dict[str, str]  # step -> its full shape, e.g. "T × d_ff = 64 × 2048"
    sentences: dict[str, str]  # step -> one or two sentences computed from this run's numbers


@dataclass(frozen=True)
class SeedBugView:
    """Seed 000's run of the same weights (its (16, 32, 9) batch on a sequence-first encoder) vs batch-first."""

    seed_weights: np.ndarray  # (H, 16, 16) layer 0, time step 0: attention over the 16 samples
    right_weights: np.ndarray  # (H, G, G) layer 0, sample 0: attention over its time steps
    right_labels: tuple[str, ...]
    paragraph: str


@dataclass(frozen=True)
class EncoderView:
    """What the Encoder page draws; every number comes from one :class:`EncoderTrace`."""

    kind: str  # "tokens" or "series"
    t: int
    d_model: int
    num_layers: int
    num_heads: int
    d_ff: int
    norm_first: bool
    activation: str
    causal: bool
    valid_len: int | None
    labels: tuple[str, ...]
    grid_block: int  # tokens per model-view cell (1 = full resolution)
    grid_labels: tuple[str, ...]
    grid: np.ndarray  # (L, H, G, G) weights, masked cells NaN (attention shares when pooled)
    grid_top: float  # top of the model view's colour scale
    focus_block: int
    focus_labels: tuple[str, ...]
    focus: np.ndarray  # (L, H, F, F) every head at (up to FOCUS_CELLS) full size, masked cells NaN
    entropy: np.ndarray  # (L, H) mean row entropy in bits over the queries that see a key
    distance: np.ndarray  # (L, H) mean |i − j| attended
    self_weight: np.ndarray  # (L, H) mean weight a token gives itself
    max_entropy: float  # log2(T): a uniform row's entropy
    similarity_block: int
    similarity_labels: tuple[str, ...]
    similarity: np.ndarray  # (L + 1, S, S) cosine similarity of the token vectors: input, after each layer
    mean_similarity: np.ndarray  # (L + 1,) mean off-diagonal cosine similarity
    steps: tuple[LayerSteps, ...]  # one per layer
    check: EncoderCheck
    seed: int = 0  # the weights' seed (a kept view is exported with its own, not the sidebar's new one)

    @property
    def head_view_ok(self) -> bool:
        return self.t <= HEAD_VIEW_TOKENS


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).numpy()


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a, dtype=np.float64)))) if a.size else 0.0


def _fmt(v: float, digits: int = 2) -> str:
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _norm_sentence(which: str, norm: LayerNormTrace, window: int, affine_identity: bool) -> str:
    mean = _np(norm.mean)[:window]
    std = _np(norm.std)[:window]
    z = norm.standardized.detach().double()
    after_mean = float(z.mean(-1).abs().max())
    after_std = z.std(-1, unbiased=False)
    spread = float((after_std - 1).abs().max())
    affine = (
        _("γ = 1 and β = 0 here (PyTorch's initial values), so the scale-and-shift after it changes nothing.")
        if affine_identity
        else _("then each column is scaled by γ and shifted by β.")
    )
    return _(
        "{which} normalises each token's row on its own. Before it, the per-token means run from {mean_low} to "
        "{mean_high} and the standard deviations from {std_low} to {std_high}; after subtracting the mean and dividing "
        "by √(variance + ε), every row has mean 0 (largest |mean| {after_mean:.1e}) and std 1 (largest |std − 1| "
        "{spread:.1e}, ε = {eps:g}); {affine}"
    ).format(
        which=which,
        mean_low=_fmt(mean.min()),
        mean_high=_fmt(mean.max()),
        std_low=_fmt(std.min()),
        std_high=_fmt(std.max()),
        after_mean=after_mean,
        spread=spread,
        eps=norm.eps,
        affine=affine,
    )


def _layer_steps(
    index: int, trace: EncoderLayerTrace, labels: tuple[str, ...], affine: tuple[bool, bool], stats: dict
) -> LayerSteps:
    """``trace`` of one layer on batch 0."""
    t = trace.input.shape[-2]
    w = min(t, STEP_WINDOW)
    d_model = trace.input.shape[-1]
    d_ff = trace.ffn_hidden.shape[-1]

    def row(x: torch.Tensor) -> np.ndarray:
        return _np(x[0, :w])

    attn_out = trace.attention.output
    hidden = _np(trace.ffn_hidden[0, :w])  # (W, d_ff)
    block = pool_factor(d_ff, FFN_COLUMNS)
    if block > 1:
        pad = math.ceil(d_ff / block) * block - d_ff
        padded = np.pad(hidden, ((0, 0), (0, pad)), constant_values=np.nan)
        hidden = np.nanmean(padded.reshape(w, -1, block), axis=-1).astype(np.float32)
    pre = trace.ffn_pre_activation[0].detach()
    zero = float((trace.ffn_hidden[0] == 0).double().mean())
    negative = float((pre < 0).double().mean())
    x_rms, a_rms = _rms(_np(trace.input[0])), _rms(_np(attn_out[0]))
    f_rms = _rms(_np(trace.ffn_output[0]))
    r1_rms = _rms(_np(trace.residual1[0]))
    r2_rms = _rms(_np(trace.residual2[0]))
    ent, dist = stats["entropy"][index], stats["distance"][index]
    sharp, wide = int(np.argmin(ent)), int(np.argmax(dist))
    tw = f"{t} × {d_model}"
    if trace.activation == "relu":
        ffn_sentence = _(
            "Each token's row goes through W₁ (d_model → d_ff = {d_ff}) and ReLU: every negative value becomes 0, so "
            "{zero:.0%} of the {count:,} hidden activations are exactly 0 here."
        ).format(d_ff=d_ff, zero=zero, count=t * d_ff)
    else:
        ffn_sentence = _(
            "Each token's row goes through W₁ (d_model → d_ff = {d_ff}) and GELU, which damps negative values instead "
            "of zeroing them: {negative:.0%} of the pre-activations are negative, {zero:.0%} of the outputs are "
            "exactly 0."
        ).format(d_ff=d_ff, negative=negative, zero=zero)
    heads = trace.attention.num_heads
    attention = (
        _(
            "Self-attention over LayerNorm 1 of the input (pre-norm), {heads} heads of d_head = {d_head}. Head {sharp} "
            "is the most focused (mean row entropy {entropy} bits; a uniform row has {uniform}), head {wide} looks "
            "farthest (mean |i − j| = {distance} positions)."
        )
        if trace.norm_first
        else _(
            "Self-attention over the input, {heads} heads of d_head = {d_head}. Head {sharp} is the most focused (mean "
            "row entropy {entropy} bits; a uniform row has {uniform}), head {wide} looks farthest (mean |i − j| = "
            "{distance} positions)."
        )
    ).format(
        heads=heads,
        d_head=d_model // heads,
        sharp=sharp,
        entropy=_fmt(ent[sharp]),
        uniform=_fmt(math.log2(t)),
        wide=wide,
        distance=_fmt(dist[wide]),
    )
    layer_input = (
        _("The layer reads {rows} rows of d_model = {d_model} numbers (RMS {rms}), the previous layer's output.")
        if index
        else _("The layer reads {rows} rows of d_model = {d_model} numbers (RMS {rms}).")
    ).format(rows=t, d_model=d_model, rms=_fmt(x_rms))
    output = (
        _("The layer's output is the second residual sum itself (pre-norm keeps the stream un-normalised).")
        if trace.norm_first
        else _("The layer's output is LayerNorm 2's output: every token's row standardised again.")
    ) + (_(" It is the next layer's input.") if stats["last"] != index else _(" It is the stack's output."))
    sentences = {
        "input": layer_input,
        "attention": attention,
        "attention_output": _(
            "The heads' outputs, concatenated and projected by W_O: {shape} again, RMS {rms} against the input's "
            "{input_rms}."
        ).format(shape=tw, rms=_fmt(a_rms), input_rms=_fmt(x_rms)),
        "residual1": _(
            "Add: the attention output is added to the layer's input (the residual stream), so each token keeps what "
            "it had and gains a mix of the others; the sum has RMS {rms}."
        ).format(rms=_fmt(r1_rms)),
        "norm1": _norm_sentence(_("LayerNorm 1"), trace.norm1, w, affine[0])
        + (_(" In pre-norm it ran first, on the input; attention read its output.") if trace.norm_first else ""),
        "ffn_hidden": ffn_sentence,
        "ffn_output": _(
            "W₂ brings each row back to d_model = {d_model} (RMS {rms}): the same two-layer network for every token, "
            "no mixing between tokens here."
        ).format(d_model=d_model, rms=_fmt(f_rms)),
        "residual2": _("Add: the FFN output joins the residual stream again; the sum has RMS {rms}.").format(
            rms=_fmt(r2_rms)
        ),
        "norm2": _norm_sentence(_("LayerNorm 2"), trace.norm2, w, affine[1])
        + (_(" In pre-norm it ran before the FFN, which read its output.") if trace.norm_first else ""),
        "output": output,
    }
    shapes = {
        "input": f"T × d_model = {tw}",
        "attention": f"H × T × T = {trace.attention.num_heads} × {t} × {t}",
        "attention_output": f"T × d_model = {tw}",
        "residual1": f"T × d_model = {tw}",
        "norm1": f"T × d_model = {tw}",
        "ffn_hidden": f"T × d_ff = {t} × {d_ff}",
        "ffn_output": f"T × d_model = {tw}",
        "residual2": f"T × d_model = {tw}",
        "norm2": f"T × d_model = {tw}",
        "output": f"T × d_model = {tw}",
    }
    return read_only(
        LayerSteps(
            layer=index,
            window=w,
            labels=labels[:w],
            norm_first=trace.norm_first,
            activation=trace.activation,
            input=row(trace.input),
            attention_output=row(attn_out),
            residual1=row(trace.residual1),
            norm1_mean=_np(trace.norm1.mean[0, :w]),
            norm1_std=_np(trace.norm1.std[0, :w]),
            norm1_standardized=row(trace.norm1.standardized),
            norm1_output=row(trace.norm1.output),
            ffn_hidden=hidden,
            ffn_block=block,
            ffn_output=row(trace.ffn_output),
            residual2=row(trace.residual2),
            norm2_mean=_np(trace.norm2.mean[0, :w]),
            norm2_std=_np(trace.norm2.std[0, :w]),
            norm2_standardized=row(trace.norm2.standardized),
            norm2_output=row(trace.norm2.output),
            output=row(trace.output),
            shapes=shapes,
            sentences=sentences,
        )
    )


def head_summary(view: EncoderView) -> str:
    """Which heads spread out, focus, look far, look at themselves: a sentence from the per-head tables."""
    h = view.num_heads

    def where(flat: int) -> str:
        return _("layer {layer} head {head}").format(layer=flat // h, head=flat % h)

    flat, sharp = int(np.argmax(view.entropy)), int(np.argmin(view.entropy))
    far, selfish = int(np.argmax(view.distance)), int(np.argmax(view.self_weight))
    return _(
        "Most spread out: {spread} ({spread_bits:.2f} bits of {possible:.2f} possible). Most focused: {focused} "
        "({focused_bits:.2f} bits). Looks farthest: {far} (|i − j| = {distance:.1f} on average). Looks at itself "
        "most: {selfish} ({share:.0%} of its weight on its own token)."
    ).format(
        spread=where(flat),
        spread_bits=view.entropy.flat[flat],
        possible=view.max_entropy,
        focused=where(sharp),
        focused_bits=view.entropy.flat[sharp],
        far=where(far),
        distance=view.distance.flat[far],
        selfish=where(selfish),
        share=view.self_weight.flat[selfish],
    )


def layer_steps(view: EncoderView, layer: int) -> LayerSteps:
    """The step-by-step data of ``layer`` (0-based), naming the range when it is out of it."""
    if not 0 <= layer < view.num_layers:
        raise ValueError(f"layer={layer} must be from 0 to {view.num_layers - 1}")
    return view.steps[layer]


def _head_stats(trace: EncoderTrace) -> dict:
    weights = trace.weights[:, 0].detach()  # (L, H, T, T)
    seen = ~torch.stack([layer.attention.fully_masked[0] for layer in trace.layers])  # (L, H, T)
    count = seen.sum(-1).clamp(min=1)
    entropy = (row_entropy(weights) * seen).sum(-1) / count  # (L, H)
    distance = (mean_distance(weights) * seen).sum(-1) / count
    self_weight = (torch.diagonal(weights, dim1=-2, dim2=-1) * seen).sum(-1) / count
    return {
        "entropy": entropy.float().numpy(),
        "distance": distance.float().numpy(),
        "self": self_weight.float().numpy(),
        "last": trace.num_layers - 1,
    }


def _masked_nan(trace: EncoderTrace) -> np.ndarray:
    """(L, H, T, T) weights with cells that may not attend set to NaN (blank in the heatmaps)."""
    weights = _np(trace.weights[:, 0])
    allowed = torch.stack([layer.attention.mask[0] for layer in trace.layers]).numpy()  # (L, H, T, T)
    if allowed.all():
        return weights
    return np.where(np.broadcast_to(allowed, weights.shape), weights, np.float32(np.nan))


def seed_bug_view(
    batch: np.ndarray,
    *,
    num_layers: int,
    num_heads: int,
    d_ff: int,
    norm_first: bool = False,
    activation: str = "relu",
    seed: int = 0,
    labels_limit: int = GRID_CELLS,
) -> SeedBugView:
    """Seed 000's ``(S, N, F)`` batch through a :class:`TimeSeriesTransformer` (d_model = F) both ways: layer 0's
    weights as the seed runs it and batch-first, and the paragraph that explains the bug with this run's numbers."""
    from attnviz.encoder import seed_bug_report

    batch = np.asarray(batch)
    if batch.ndim != 3:
        raise ValueError(f"the seed's batch must have shape (S, N, F), got {batch.shape}")
    model = TimeSeriesTransformer(
        batch.shape[-1], num_layers, num_heads, d_ff, norm_first=norm_first, activation=activation, seed=seed
    ).requires_grad_(False)
    x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
    with torch.no_grad():
        seed_run = model.forward_as_seed(x)
        right = model(x)
        report = seed_bug_report(model, x, seed_run=seed_run, right=right)
    s, n, f = report.input_shape
    heads = model.encoder.num_heads
    right_w = _np(right.encoder.layers[0].attention.weights[0])  # (H, N, N)
    block = pool_factor(n, labels_limit)
    right_labels = tuple(f"t{i}" for i in range(n)) if block == 1 else tuple(range_labels(n, block))
    spread = (
        _("nothing beyond float32 rounding")
        if report.seed_positional_spread < 1e-5
        else _("up to {spread:.2g}").format(spread=report.seed_positional_spread)
    )
    paragraph = _(
        "Seed 000 builds a batch of shape ({s}, {n}, {f}) — {s} samples of {n} time steps with {f} features — and "
        "gives it to an encoder built with `batch_first=False`, which reads axis 0 as the sequence. So each layer "
        "computes {n} attention maps of {s} × {s} (shape {seed_shape}): at every time step the {s} samples attend to "
        "one another, and no time step ever sees another. Changing sample 0 alone moves the other samples' outputs "
        "by up to {seed_leak:.3f} (batch-first: {right_leak:.1g}). Its positional encoding adds `pe[:x.size(0)]`, "
        "one position per sample: all {n} time steps of a sample get the same vector (they differ by {spread}), so "
        "the model cannot tell early from late. Finally `output.reshape(output.size(0), -1)` gives ({rows}, "
        "{columns}), which is why its `nn.Linear` takes {columns} inputs. Run batch-first, the same weights give {s} "
        "maps of {n} × {n} per head (shape {right_shape}): each sample's time steps attend to each other, as "
        "intended."
    ).format(
        s=s,
        n=n,
        f=f,
        seed_shape=report.seed_weights_shape,
        seed_leak=report.seed_leak,
        right_leak=report.right_leak,
        spread=spread,
        rows=report.flattened_shape[0],
        columns=report.flattened_shape[1],
        right_shape=report.right_weights_shape,
    )
    return read_only(
        SeedBugView(
            seed_weights=_np(seed_run.encoder.layers[0].attention.weights[0]).reshape(heads, s, s),
            right_weights=pool_blocks(right_w, block, how="row_share"),
            right_labels=right_labels,
            paragraph=paragraph,
        )
    )


def encoder_view(
    source: EncoderInput,
    *,
    num_layers: int,
    num_heads: int,
    d_ff: int,
    norm_first: bool,
    activation: str,
    seed: int,
    causal: bool,
    valid_len: int | None,
) -> EncoderView:
    """Run ``source.x`` through an encoder of ``num_layers`` × ``num_heads`` and build everything the page shows.

    Time series run through :class:`TimeSeriesTransformer`'s encoder (seed 000's model; ``source.x`` already holds
    its positional encoding).
    Raises ``ValueError`` naming the argument (layers, heads, d_ff, valid length) when it cannot run.
    """
    x = np.asarray(source.x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(_("X must have shape (T >= 1, d_model), got {shape}").format(shape=x.shape))
    t, d_model = x.shape
    if t > MAX_ENCODER_TOKENS:
        raise ValueError(
            _("{count} tokens is more than the page's limit of {limit}").format(count=t, limit=MAX_ENCODER_TOKENS)
        )
    if valid_len is not None and not 1 <= valid_len <= t:
        raise ValueError(_("valid length={valid_len} must be from 1 to T={t}").format(valid_len=valid_len, t=t))
    if valid_len == t:
        valid_len = None
    encoder = build_encoder(source.kind, d_model, num_layers=num_layers, num_heads=num_heads, d_ff=d_ff,
                            norm_first=norm_first, activation=activation, seed=seed)  # fmt: skip
    xb = torch.from_numpy(x).unsqueeze(0)  # (1, T, d_model)
    mask = torch.ones(t, t, dtype=torch.bool).tril() if causal else None
    lens = None if valid_len is None else torch.tensor([valid_len])
    with torch.no_grad():
        trace = encoder(xb, mask=mask, valid_lens=lens)
        check = check_encoder_against_torch(encoder, trace, mask=mask, valid_lens=lens)
    stats = _head_stats(trace)
    weights = _masked_nan(trace)  # (L, H, T, T)
    side = max(8, min(GRID_CELLS, math.isqrt(GRID_TOTAL_CELLS // (num_layers * num_heads))))
    grid_block = pool_factor(t, side)
    focus_block = pool_factor(t, FOCUS_CELLS)
    labels = tuple(source.labels)

    def pooled_labels(block: int) -> tuple[str, ...]:
        return labels if block == 1 else tuple(range_labels(t, block))

    grid = pool_blocks(weights, grid_block, how="row_share")
    hidden = torch.stack(trace.hidden_states)[:, 0]  # (L + 1, T, d_model)
    sim = token_similarity(hidden.detach().double())  # (L + 1, T, T)
    off = ~torch.eye(t, dtype=torch.bool)
    mean_sim = (sim[:, off].mean(-1) if t > 1 else torch.ones(num_layers + 1)).float().numpy()
    sim_block = pool_factor(t, SIMILARITY_CELLS)
    affine = [
        (
            bool(torch.all(layer.norm1_weight == 1))
            and (layer.norm1_bias is None or bool(torch.all(layer.norm1_bias == 0))),
            bool(torch.all(layer.norm2_weight == 1))
            and (layer.norm2_bias is None or bool(torch.all(layer.norm2_bias == 0))),
        )
        for layer in encoder.layers
    ]
    steps = tuple(_layer_steps(i, lt, labels, affine[i], stats) for i, lt in enumerate(trace.layers))
    return read_only(
        EncoderView(
            kind=source.kind,
            t=t,
            d_model=d_model,
            num_layers=num_layers,
            num_heads=num_heads,
            d_ff=d_ff,
            norm_first=norm_first,
            activation=activation,
            causal=causal,
            valid_len=valid_len,
            labels=labels,
            grid_block=grid_block,
            grid_labels=pooled_labels(grid_block),
            grid=grid,
            grid_top=1.0 if t <= 32 else min(1.0, robust_max(grid)),
            focus_block=focus_block,
            focus_labels=pooled_labels(focus_block),
            focus=pool_blocks(weights, focus_block, how="row_share"),
            entropy=stats["entropy"],
            distance=stats["distance"],
            self_weight=stats["self"],
            max_entropy=math.log2(t) if t > 1 else 0.0,
            similarity_block=sim_block,
            similarity_labels=pooled_labels(sim_block),
            similarity=pool_blocks(sim.float().numpy(), sim_block, how="mean"),
            mean_similarity=mean_sim,
            steps=steps,
            check=check,
            seed=int(seed),
        )
    )

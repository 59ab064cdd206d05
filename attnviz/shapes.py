"""How multi-head attention reshapes its tensors, written out with the sizes of an actual run.

d2l's ``transpose_qkv`` splits ``(B, T, d_model)`` into heads and flattens them into the batch axis so one batched
matrix product serves every head; ``transpose_output`` undoes it. :func:`shape_flow` replays those reshapes on the
tensors of a :class:`~attnviz.modules.MultiHeadTrace` with the one split and merge the modules use
(:func:`~attnviz.modules.split_heads`, :func:`~attnviz.modules.merge_heads`) and records every shape, so the
description always matches the run (nothing here is typed by hand).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.modules import MultiHeadTrace, merge_heads, split_heads

__all__ = [
    "MAX_HEADS",
    "ShapeStep",
    "divisors",
    "head_problems",
    "shape_flow",
]

MAX_HEADS = 16
"""The most heads the app offers: every head gets its own panel."""


@dataclass(frozen=True)
class ShapeStep:
    """One operation of the flow and the shape it produces, in axis letters and in this run's sizes."""

    operation: str  # e.g. "Q.reshape(B, T, H, d_head)"
    axes: tuple[str, ...]  # e.g. ("B", "T", "H", "d_head")
    sizes: tuple[int, ...]  # e.g. (1, 11, 2, 4)
    note: str  # one short sentence on what the step does (English, marked for the catalog: show it as ``_(note)``)

    @property
    def symbolic(self) -> str:
        """``"(B, T, H, d_head)"``."""
        return "(" + ", ".join(self.axes) + ")"

    @property
    def numeric(self) -> str:
        """``"(1, 11, 2, 4)"``."""
        return "(" + ", ".join(str(s) for s in self.sizes) + ")"


def _batched(t: Tensor, dims: int) -> Tensor:
    return t if t.dim() == dims else t.unsqueeze(0)  # an unbatched trace is shown with B = 1


def shape_flow(trace: MultiHeadTrace) -> list[ShapeStep]:
    """Every reshape of multi-head self-attention, with the shapes of ``trace``'s tensors.

    An unbatched trace (input ``(T, d_model)``) is described with ``B = 1``. The steps follow Q; K and V go
    through the same split. Raises ``ValueError`` when the replayed reshapes disagree with the trace (they cannot
    for a trace from :class:`~attnviz.modules.MultiHeadAttention`).
    """
    q_proj = _batched(trace.q_proj, 3)  # (B, T_q, d_model)
    query = _batched(trace.query, 4)  # (B, H, T_q, d_head)
    key = _batched(trace.key, 4)  # (B, H, T_k, d_head)
    weights = _batched(trace.weights, 4)  # (B, H, T_q, T_k)
    head_outputs = _batched(trace.head_outputs, 4)  # (B, H, T_q, d_head)
    concat = _batched(trace.concat, 3)  # (B, T_q, d_model)
    output = _batched(trace.output, 3)  # (B, T_q, d_model)
    b, h, t_q, d_head = query.shape
    t_k = key.shape[-2]

    permuted = split_heads(q_proj, h)  # (B, H, T_q, d_head)
    split = permuted.transpose(1, 2)  # (B, T_q, H, d_head): the reshape before the permute
    flattened = permuted.reshape(b * h, t_q, d_head)  # (B·H, T_q, d_head): d2l's transpose_qkv
    if tuple(permuted.shape) != tuple(query.shape):
        raise ValueError(
            _("replayed split {permuted_shape} differs from the trace's query {query_shape}").format(
                permuted_shape=tuple(permuted.shape), query_shape=tuple(query.shape)
            )
        )
    scores = weights.reshape(b * h, t_q, t_k)  # (B·H, T_q, T_k): what d2l's bmm computes
    per_head = head_outputs.reshape(b * h, t_q, d_head)  # (B·H, T_q, d_head)
    unflattened = per_head.reshape(b, h, t_q, d_head)  # (B, H, T_q, d_head)
    back = unflattened.transpose(1, 2)  # (B, T_q, H, d_head)
    merged = merge_heads(unflattened)  # (B, T_q, d_model): d2l's transpose_output
    if tuple(merged.shape) != tuple(concat.shape):
        raise ValueError(
            _("replayed merge {merged_shape} differs from the trace's concat {concat_shape}").format(
                merged_shape=tuple(merged.shape), concat_shape=tuple(concat.shape)
            )
        )

    def step(operation: str, axes: tuple[str, ...], tensor: Tensor, note: str) -> ShapeStep:
        return ShapeStep(operation, axes, tuple(int(s) for s in tensor.shape), note)

    return [
        step("Q = X·W_q + b_q", ("B", "T", "d_model"), q_proj, N_("one projection for all heads at once")),
        step("Q.reshape(B, T, H, d_head)", ("B", "T", "H", "d_head"), split, N_("cut each row into H pieces")),
        step(
            ".permute(0, 2, 1, 3)", ("B", "H", "T", "d_head"), permuted, N_("heads to the front: one matrix per head")
        ),
        step(
            ".reshape(B·H, T, d_head)",
            ("B·H", "T", "d_head"),
            flattened,
            N_("heads folded into the batch (d2l's `transpose_qkv`)"),
        ),
        step(
            "softmax(Q·Kᵀ/√d_head)",
            ("B·H", "T_q", "T_k"),
            scores,
            N_("one attention matrix per head, in one batched product"),
        ),
        step("weights·V", ("B·H", "T_q", "d_head"), per_head, N_("each head's output Aₕ·Vₕ")),
        step(".reshape(B, H, T, d_head)", ("B", "H", "T", "d_head"), unflattened, N_("heads out of the batch again")),
        step(".permute(0, 2, 1, 3)", ("B", "T", "H", "d_head"), back, N_("tokens to the front")),
        step(
            ".reshape(B, T, d_model)",
            ("B", "T", "d_model"),
            merged,
            N_("heads side by side: the concatenation (d2l's `transpose_output`)"),
        ),
        step("concat·W_O + b_O", ("B", "T", "d_model"), output, N_("W_O mixes the heads' outputs")),
    ]


def divisors(n: int) -> list[int]:
    """The positive divisors of ``n``, smallest first (``[]`` for ``n < 1``)."""
    return [k for k in range(1, n + 1) if n % k == 0] if n >= 1 else []


def head_problems(
    d_model: int, num_heads: int, *, d_model_label: str = "d_model", heads_label: str | None = None
) -> list[str]:
    """What is wrong with ``(d_model, num_heads)``, each problem naming its control (``heads_label`` defaults to
    "Heads" in the interface's language); ``[]`` when they fit."""
    heads_label = _("Heads") if heads_label is None else heads_label
    if d_model < 1:
        return [
            _("{d_model_label} is {d_model}: it must be at least 1 (every token needs a vector)").format(
                d_model_label=d_model_label, d_model=d_model
            )
        ]
    if num_heads < 1:
        return [
            _("{heads_label} is {num_heads}: there must be at least 1 head").format(
                heads_label=heads_label, num_heads=num_heads
            )
        ]
    if d_model % num_heads:
        choices = ", ".join(str(k) for k in divisors(d_model) if k <= MAX_HEADS)
        return [
            _(
                "{heads_label} = {num_heads} does not divide {d_model_label} = {d_model}: each head gets "
                "d_model / heads columns, which must be a whole number. Choose one of {choices}"
            ).format(
                heads_label=heads_label,
                num_heads=num_heads,
                d_model_label=d_model_label,
                d_model=d_model,
                choices=choices,
            )
        ]
    if num_heads > MAX_HEADS:
        return [
            _("{heads_label} = {num_heads} is more than the {max_heads} heads this page draws").format(
                heads_label=heads_label, num_heads=num_heads, max_heads=MAX_HEADS
            )
        ]
    return []

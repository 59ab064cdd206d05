"""Where one number comes from: the arithmetic of one cell of a scores, scaled, weights or output heatmap.

:func:`explain_cell` takes the arrays of one attention (query, key, value, the softmax's input and the weights)
and returns a :class:`CellExplanation`: the cell's value as the heatmap's hover prints it, the float64 terms that
make it, and LaTeX lines that write the arithmetic out with this run's numbers. :func:`explain_trace` does the same
for an :class:`~attnviz.attention.AttentionTrace` and :func:`explain_head` for one head of a
:class:`~attnviz.modules.MultiHeadTrace` (saying which columns of W_q, W_k, W_v and which rows of W_O the head
uses). Every number is printed with the digits of the heatmap's hover (:func:`hover_text`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from attnviz.arrays import to_numpy
from attnviz.figures import HOVER_DECIMALS, hover_format
from attnviz.i18n import N_
from attnviz.i18n import gettext as _

__all__ = [
    "STAGES",
    "CellExplanation",
    "cell_at",
    "explain_cell",
    "explain_head",
    "explain_trace",
    "explain_view",
    "hover_text",
    "latex_number",
]

STAGES = ("scores", "scaled", "weights", "output")
"""The heatmaps whose cells can be explained (the trace's names)."""

MINUS = "\u2212"  # plotly writes the minus of a formatted hover value as U+2212


def hover_text(value: float, spec: str = f".{HOVER_DECIMALS}~f") -> str:
    """``value`` exactly as a heatmap's hover prints it with the d3 format ``spec`` (``".4~f"``, ``".4~e"``).

    The figure ships float32, so the value is rounded to float32 first; like JavaScript's ``toFixed`` and
    ``toExponential``, an exact tie rounds away from zero; a value that rounds to zero has no sign (d3-format);
    ``~`` trims trailing zeros; every minus is U+2212 (plotly). A blank (non-finite) cell is ``""``.
    """
    trim = "~" in spec
    body = spec.replace("~", "", 1)
    if len(body) < 3 or body[0] != "." or body[-1] not in "fe" or not body[1:-1].isdigit():
        raise ValueError(_("spec={spec} is not a d3 format like '.4~f' or '.4~e'").format(spec=repr(spec)))
    value = float(np.float32(value))
    if not math.isfinite(value):
        return ""
    decimals, notation = int(body[1:-1]), body[-1]
    exact = Decimal(value)  # the binary value, exactly
    if notation == "f":
        rounded = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        text = f"{abs(rounded):.{decimals}f}"
        exponent = ""
    else:
        if exact == 0:
            mantissa, power = Decimal(0), 0
        else:
            power = exact.adjusted()
            mantissa = (exact.scaleb(-power)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
            if abs(mantissa) >= 10:  # 9.99995e3 rounds up to 1.0000e4
                power += 1
                mantissa = (exact.scaleb(-power)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        rounded = mantissa
        text = f"{abs(mantissa):.{decimals}f}"
        exponent = f"e{'+' if power >= 0 else MINUS}{abs(power)}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    sign = MINUS if value < 0 and rounded != 0 else ""
    return f"{sign}{text}{exponent}"


def latex_number(value: float, spec: str = f".{HOVER_DECIMALS}~f", *, bracket: bool = True) -> str:
    """:func:`hover_text` for a formula: the same digits, ``-`` for the minus, ``\\times10^{n}`` for an exponent,
    and negative numbers in brackets so a product reads ``2\\cdot(-1.5000)``."""
    text = hover_text(value, spec).replace(MINUS, "-")
    if "e" in text:
        mantissa, power = text.split("e")
        text = f"{mantissa}\\times10^{{{int(power)}}}"
    return f"({text})" if bracket and text.startswith("-") else text


@dataclass(frozen=True)
class CellExplanation:
    """The arithmetic of one cell. Rows are queries; ``col`` is a key (scores, scaled, weights) or a value
    dimension (output). ``terms`` are the float64 numbers that are summed (the products ``q_i[d]·k_j[d]``, the
    ``e^{z_k - max}`` of the row, the products ``w_ik·v_k[d]``); ``excluded`` are the masked keys."""

    stage: str
    row: int
    col: int
    value: float  # the cell as the heatmap holds it
    text: str  # the cell's value as its hover prints it
    recomputed: float  # the same number recomputed here in float64 from the inputs
    terms: tuple[float, ...]
    excluded: tuple[int, ...]
    lines: tuple[str, ...]  # LaTeX, one step each
    title: str  # plain text: which cell this is
    head: int | None = None
    note: str = ""  # plain text: which head and which slices of the weights (multi-head)

    @property
    def latex(self) -> str:
        """The lines as one aligned LaTeX block."""
        return r"\begin{aligned}" + r" \\ ".join(self.lines) + r"\end{aligned}"


def _sym(name: str, i: int, j: int | None = None) -> str:
    return f"{name}_{{{i + 1}{'' if j is None else f',{j + 1}'}}}"


_TEX_SPECIAL = {c: "\\" + c for c in "{}$&#%_"} | {"\\": r"\backslash ", "^": r"\^{}", "~": r"\~{}"}


# What the learner reads (whole sentences with named placeholders, so they can be translated as they are);
# translated when a cell is explained.
TITLES = {
    "scores": N_("score of query {query} and key {key}"),
    "scaled": N_("scaled score of query {query} and key {key}"),
    "weights": N_("weight of query {query} on key {key}"),
    "output": N_("output of query {query}, column {dim}"),
}
MASKED_KEY = N_("{key}: masked, excluded")
ALL_MASKED = N_("every key of this query is masked")
KEY_MASKED = N_("key {key} is masked")
EXCLUDED = N_("masked keys excluded (weight 0): {keys}")
SCALE = N_("scale")
HEAD_NOTE = N_(
    "Head {head} of {heads}: q, k and v are columns {start}–{stop} of X·W_q, X·W_k and X·W_v (columns "
    "{start}–{stop} of W_q, W_k, W_v); its output is columns {start}–{stop} of the concatenation, which meet rows "
    "{start}–{stop} of W_O."
)


MAX_TERMS = 8  # longer sums are written with their first and last terms and the clicked one, "…" between


def _pick(n: int, must: tuple[int, ...] = ()) -> list[int]:
    """The term indices written out of ``n``: all up to :data:`MAX_TERMS`, else the first 3, ``must``, the last 2."""
    if n <= MAX_TERMS:
        return list(range(n))
    return sorted({0, 1, 2, n - 2, n - 1, *must})


def _join(indices: list[int], write, sep: str = " + ", gap: str = r"\ldots", counts=None) -> str:
    """``write(m)`` for each index, joined by ``sep``, with ``gap`` where indices that ``counts`` were skipped."""
    out: list[str] = []
    for pos, m in enumerate(indices):
        skipped = range(indices[pos - 1] + 1, m) if pos else range(0)
        if any(counts is None or counts(x) for x in skipped):
            out.append(gap)
        out.append(write(m))
    return sep.join(out)


def _raw(labels, index: int, fallback: str) -> str:
    return str(labels[index]) if labels is not None else f"{fallback}{index + 1}"


def _tex(text: str) -> str:
    """``text`` safe inside LaTeX's ``\\text{}``."""
    return "".join(_TEX_SPECIAL.get(c, c) for c in text)


def _check_index(name: str, index: int, size: int) -> int:
    if not isinstance(index, int | np.integer) or not 0 <= int(index) < size:
        raise ValueError(
            _("{name}={index} is out of range for {size} entries").format(name=name, index=repr(index), size=size)
        )
    return int(index)


def explain_cell(
    stage: str,
    row: int,
    col: int,
    *,
    query,
    key,
    value,
    scale: float,
    masked,
    weights,
    allowed=None,
    drawn=None,
    labels=None,
    dims=None,
    key_labels=None,
) -> CellExplanation:
    """The arithmetic of cell ``(row, col)`` of the ``stage`` heatmap (one of :data:`STAGES`).

    ``query`` ``(T_q, d_k)``, ``key`` ``(T_k, d_k)``, ``value`` ``(T_k, d_v)``; ``masked`` ``(T_q, T_k)`` is the
    softmax's input (the scaled scores, divided by the temperature, ``-inf`` where masked); ``weights`` its
    softmax; ``allowed`` ``(T_q, T_k)`` bool (None: every key, or the finite entries of ``masked``); ``drawn`` the
    matrix the heatmap shows (its hover format and the cell's value; default: the stage's matrix recomputed from
    the others). ``labels``: token labels; ``dims``: value-column labels; ``key_labels``: the keys' labels when
    they are not the queries' (cross-attention; default ``labels``).
    """
    if key_labels is None:
        key_labels = labels
    if stage not in STAGES:
        raise ValueError(_("stage={stage} is not one of {stages}").format(stage=repr(stage), stages=STAGES))
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (query, key, value))
    z = np.asarray(masked, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if q.ndim != 2 or k.ndim != 2 or v.ndim != 2 or q.shape[1] != k.shape[1] or k.shape[0] != v.shape[0]:
        raise ValueError(
            _("query {query}, key {key} and value {value} must be (T_q, d_k), (T_k, d_k), (T_k, d_v)").format(
                query=q.shape, key=k.shape, value=v.shape
            )
        )
    t_q, t_k = q.shape[0], k.shape[0]
    if z.shape != (t_q, t_k) or w.shape != (t_q, t_k):
        raise ValueError(
            _("masked {masked} and weights {weights} must both be (T_q, T_k) = {shape}").format(
                masked=z.shape, weights=w.shape, shape=(t_q, t_k)
            )
        )
    ok = np.isfinite(z) if allowed is None else np.asarray(allowed, dtype=bool) & np.isfinite(z)
    i = _check_index("row", row, t_q)
    j = _check_index("col", col, v.shape[1] if stage == "output" else t_k)
    qi = _raw(labels, i, "x")
    if stage in ("scores", "scaled"):
        products = q[i] * k[j]
        score = float(products.sum())
        recomputed = score if stage == "scores" else score * float(scale)
    elif stage == "weights":
        row_ok = ok[i]
        if row_ok.any():
            top = float(z[i][row_ok].max())
            exps = np.where(row_ok, np.exp(np.where(row_ok, z[i], 0.0) - top), 0.0)
            total = float(exps.sum())
            recomputed = float(exps[j] / total)
        else:
            top, exps, total, recomputed = 0.0, np.zeros(t_k), 0.0, 0.0
    else:
        products = w[i] * v[:, j]
        recomputed = float(products.sum())
    shown = recomputed if drawn is None else float(np.asarray(drawn, dtype=np.float64)[i, j])
    spec = hover_format(np.full((1, 1), recomputed) if drawn is None else np.asarray(drawn))
    n = lambda x: latex_number(x, spec)  # noqa: E731  (a term: negatives in brackets)
    r = lambda x: latex_number(x, spec, bracket=False)  # noqa: E731  (a result)
    excluded = tuple(int(m) for m in np.flatnonzero(~ok[i])) if stage in ("weights", "output") else ()

    if stage in ("scores", "scaled"):
        kj = _raw(key_labels, j, "x")
        dims_k = _pick(q.shape[1])
        expanded = _join(dims_k, lambda d: f"{n(q[i, d])}\\cdot{n(k[j, d])}")
        lines = [
            f"{_sym('s', i, j)} &= q_{{{i + 1}}}\\cdot k_{{{j + 1}}} = {expanded}",
            f"&= {_join(dims_k, lambda d: n(products[d]))} = {r(score)}",
        ]
        if stage == "scaled":
            scale_text = f"\\text{{{_tex(_(SCALE))}}}"
            lines.append(f"{_sym('s', i, j)}\\times{scale_text} &= {n(score)}\\times{n(scale)} = {r(shown)}")
        title = _(TITLES[stage]).format(query=qi, key=kj)
    elif stage == "weights":
        kj = _raw(key_labels, j, "x")
        title = _(TITLES[stage]).format(query=qi, key=kj)
        if not ok[i].any():
            lines = [f"{_sym('w', i, j)} &= 0 \\quad \\text{{({_tex(_(ALL_MASKED))})}}"]
        else:

            def part(m: int) -> str:
                if not ok[i, m]:
                    return f"&\\text{{{_tex(_(MASKED_KEY).format(key=_raw(key_labels, m, 'x')))}}}"
                name = _tex(_raw(key_labels, m, "x"))
                return f"&\\text{{{name}: }} e^{{{n(z[i, m])} - {n(top)}}} = {n(exps[m])}"

            keys = _pick(t_k, (j, int(np.argmax(np.where(ok[i], z[i], -np.inf)))))
            kept = [m for m in keys if ok[i, m]]
            lines = [
                f"{_sym('w', i, j)} &= \\frac{{e^{{z_{{{j + 1}}} - \\max}}}}{{\\sum_k e^{{z_k - \\max}}}}"
                f",\\quad \\max = {r(top)}",
                *_join(keys, part, sep="\n", gap="&\\vdots").split("\n"),
                f"\\textstyle\\sum &= {_join(kept, lambda m: n(exps[m]), counts=lambda m: ok[i, m])} = {r(total)}",
            ]
            if ok[i, j]:
                lines.append(f"{_sym('w', i, j)} &= {n(exps[j])} / {n(total)} = {r(shown)}")
            else:
                lines.append(f"{_sym('w', i, j)} &= 0 \\quad \\text{{({_tex(_(KEY_MASKED).format(key=kj))})}}")
    else:
        dj = _raw(dims, j, "d")
        used = [m for m in _pick(t_k) if m not in excluded]
        allowed_key = lambda m: bool(ok[i, m])  # noqa: E731
        expanded = _join(used, lambda m: f"{n(w[i, m])}\\cdot{n(v[m, j])}", counts=allowed_key) or "0"
        lines = [
            f"h_{{{i + 1}}}[{j + 1}] &= \\textstyle\\sum_k w_{{{i + 1},k}}\\, v_k[{j + 1}] = {expanded}",
            f"&= {_join(used, lambda m: n(products[m]), counts=allowed_key) or '0'} = {r(shown)}",
        ]
        if excluded:
            names = ", ".join(_raw(key_labels, m, "x") for m in excluded)
            lines.append(f"&\\text{{{_tex(_(EXCLUDED).format(keys=names))}}}")
        title = _(TITLES[stage]).format(query=qi, dim=dj)
    terms = exps if stage == "weights" else products
    return CellExplanation(
        stage, i, j, shown, hover_text(shown, spec), recomputed, tuple(map(float, terms)), excluded, tuple(lines), title
    )


def _trace_arrays(trace) -> dict:
    if getattr(trace, "score", "dot") != "dot":
        raise ValueError(
            _("score={score}: only dot-product scores are written out term by term").format(score=repr(trace.score))
        )
    allowed = trace.mask if trace.fill_value is None else np.ones(tuple(trace.weights.shape), dtype=bool)
    return {
        "query": trace.query.detach().cpu().double().numpy(),
        "key": trace.key.detach().cpu().double().numpy(),
        "value": trace.value.detach().cpu().double().numpy(),
        "scale": float(trace.scale),
        "masked": trace.masked.detach().cpu().double().numpy(),
        "weights": trace.weights.detach().cpu().double().numpy(),
        "allowed": np.broadcast_to(np.asarray(allowed), tuple(trace.weights.shape)),
    }


def explain_trace(trace, stage: str, row: int, col: int, *, labels=None, dims=None) -> CellExplanation:
    """:func:`explain_cell` of an unbatched :class:`~attnviz.attention.AttentionTrace` ``(T_q, ·)``; the heatmap
    is the trace's own ``stage`` matrix (masked cells blank)."""
    if trace.weights.dim() != 2:
        raise ValueError(
            _("trace of shape {shape}: pick one head or batch row first").format(shape=tuple(trace.weights.shape))
        )
    if trace.temperature != 1.0:
        raise ValueError(
            _("temperature={temperature}: fold it into the scale to write the cell out").format(
                temperature=trace.temperature
            )
        )
    arrays = _trace_arrays(trace)
    drawn = getattr(trace, stage)
    return explain_cell(stage, row, col, drawn=to_numpy(drawn), labels=labels, dims=dims, **arrays)


def explain_head(
    trace, stage: str, head: int, row: int, col: int, *, batch: int = 0, labels=None, key_labels=None, drawn=None
) -> CellExplanation:
    """:func:`explain_cell` of head ``head`` of a :class:`~attnviz.modules.MultiHeadTrace`; ``stage="output"`` is
    the head's output ``A_h·V_h`` (its block of the concatenation). The note names the head's slices.
    ``key_labels``: the keys' labels when they differ from the queries' (cross-attention); ``drawn``: the matrix
    the heatmap shows, when it is not the head's own ``stage`` matrix (e.g. a stored copy of it)."""
    one = trace.head(head, batch)
    d_head = one.query.shape[-1]
    start, stop = head * d_head, (head + 1) * d_head - 1
    if drawn is None:
        drawn = to_numpy(getattr(one, stage))  # the head's output is A_h·V_h
    arrays = _trace_arrays(one)
    dims = tuple(f"d{start + c}" for c in range(d_head))
    cell = explain_cell(stage, row, col, drawn=drawn, labels=labels, dims=dims, key_labels=key_labels, **arrays)
    note = _(HEAD_NOTE).format(head=head, heads=trace.num_heads, start=start, stop=stop)
    return CellExplanation(**{**cell.__dict__, "head": head, "note": note})


def explain_view(view, stage: str, row: int, col: int, *, labels=None, dims=None, drawn=None) -> CellExplanation:
    """:func:`explain_cell` of a display model that carries the trace's names (``query``, ``key``, ``value``,
    ``scale``, ``masked``, ``weights`` and the ``stage`` matrix it draws, e.g. a ``WorkedView``)."""
    return explain_cell(
        stage,
        row,
        col,
        query=view.query,
        key=view.key,
        value=view.value,
        scale=view.scale,
        masked=view.masked,
        weights=view.weights,
        drawn=to_numpy(getattr(view, stage) if drawn is None else drawn),
        labels=labels,
        dims=dims,
    )


def cell_at(point: dict | None, row_labels, col_labels) -> tuple[int, int, int] | None:
    """``(row, col, curve)`` of a clicked heatmap point ``{"x", "y", "curve", …}`` (the in-place chart's
    selection), found by its axis labels; None when there is no point or its labels are not these axes' (a click
    kept from a figure of another shape)."""
    if not point:
        return None
    rows, cols = [str(v) for v in row_labels], [str(v) for v in col_labels]
    y, x = (str(point.get(axis)).removeprefix("\u200e") for axis in ("y", "x"))  # figures' left-to-right mark
    if y not in rows or x not in cols:
        return None
    curve = point.get("curve")
    return rows.index(y), cols.index(x), int(curve) if isinstance(curve, int | float) else 0

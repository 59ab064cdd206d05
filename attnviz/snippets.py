""" "Copy as code": short self-contained Python that reproduces a page's computation with torch alone.

Each generator takes the numbers a page starts from (X and the weights, as the page holds them) and its options,
and returns a script that needs only ``torch`` (and the standard library): no attnviz. It prints the page's
intermediates by their trace names (``scores``, ``weights``, ``output`` …) at 6 significant digits.

Inputs of up to :data:`INLINE_NUMBERS` numbers are written into the script exactly (the shortest decimal that
reads back to the same float). Larger inputs would make a script of megabytes: the script then reads them from
the page's JSON export (``"computed"`` holds every input under the same name), whose file name it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "INLINE_NUMBERS",
    "cross_snippet",
    "encoder_snippet",
    "image_snippet",
    "lab_snippet",
    "multihead_snippet",
    "positional_snippet",
    "tokens_snippet",
    "train_snippet",
    "worked_snippet",
]

INLINE_NUMBERS = 20_000

_HEADER = """import math

import torch

torch.set_printoptions(precision=6, linewidth=120, threshold=100_000)
"""


def _literal(a: np.ndarray) -> str:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        return "[" + ", ".join(repr(float(v)) for v in a) + "]"
    return "[\n" + "".join(f"    {_literal(row)},\n" for row in a) + "]"


def _arrays(arrays: Mapping[str, np.ndarray], dtype: str, json_file: str) -> str:
    """Assignments ``name = torch.tensor(...)``: literal, or read from the JSON export when too many numbers."""
    total = sum(int(np.size(a)) for a in arrays.values())
    if total <= INLINE_NUMBERS:
        return "".join(f"{name} = torch.tensor({_literal(a)}, dtype=torch.{dtype})\n" for name, a in arrays.items())
    lines = [
        f"# {total:,} input numbers are too many to print here: download the page's JSON ({json_file!r}) first.\n",
        "import json\n\n",
        f'with open({json_file!r}, encoding="utf-8") as f:\n',
        '    computed = json.load(f)["computed"]\n',
    ]
    for name, a in arrays.items():
        shape = tuple(np.shape(a))
        lines.append(f'{name} = torch.tensor(computed["{name}"]["values"], dtype=torch.{dtype}).reshape{shape}\n')
    return "".join(lines)


def worked_snippet(
    x: np.ndarray,
    w_q: np.ndarray,
    w_k: np.ndarray,
    w_v: np.ndarray,
    *,
    scaled: bool,
    causal: bool,
    biases: Mapping[str, np.ndarray] | None = None,
    json_file: str = "attnviz_worked.json",
) -> str:
    """Single-head self-attention of the worked example in float64: ``X`` ``(T, d_in)``, ``W`` ``(d_in, d_k)``;
    ``biases`` ``{"b_q", "b_k", "b_v"}`` for the learned variant."""
    arrays = {"x": x, "w_q": w_q, "w_k": w_k, "w_v": w_v, **(biases or {})}
    plus = {n: f" + b_{n}" if biases else "" for n in ("q", "k", "v")}
    lines = [
        '"""Single-head self-attention (the worked example), reproduced with torch alone."""\n',
        _HEADER,
        _arrays(arrays, "float64", json_file),
        "\n",
        f"query = x @ w_q{plus['q']}  # (T, d_k)\n",
        f"key = x @ w_k{plus['k']}  # (T, d_k)\n",
        f"value = x @ w_v{plus['v']}  # (T, d_v)\n",
        "scores = query @ key.T  # (T, T)  q·kᵀ\n",
        f"scale = {'1 / math.sqrt(query.shape[-1])' if scaled else '1.0'}  # 1/√d_k{'' if scaled else ': none'}\n",
        "scaled = scores * scale\n",
    ]
    if causal:
        lines.append("allowed = torch.ones(len(x), len(x), dtype=torch.bool).tril()  # key j <= query i\n")
        lines.append('masked = scaled.masked_fill(~allowed, float("-inf"))\n')
    else:
        lines.append("masked = scaled\n")
    lines += [
        "weights = torch.softmax(masked, dim=-1)  # (T, T), rows sum to 1\n",
        "output = weights @ value  # (T, d_v)\n",
        "\n",
        'print("scores =", scores)\n',
        'print("weights =", weights)\n',
        'print("output =", output)\n',
    ]
    return "".join(lines)


def tokens_snippet(
    x: np.ndarray,
    w_q: np.ndarray,
    w_k: np.ndarray,
    b_q: np.ndarray | None,
    b_k: np.ndarray | None,
    *,
    temperature: float,
    causal: bool,
    json_file: str = "attnviz_tokens.json",
) -> str:
    """Self-attention over a sentence's input rows ``x`` ``(T, d_model)`` in float32, scale 1/(√d_k·temperature)."""
    arrays = {"x": x, "w_q": w_q, "w_k": w_k}
    if b_q is not None and b_k is not None:
        arrays |= {"b_q": b_q, "b_k": b_k}
    bias = b_q is not None
    lines = [
        '"""Self-attention over a sentence\'s tokens (the Tokens page), reproduced with torch alone.\n\n',
        "x holds the tokens' input rows (embedding, positional encoding) exactly as the page computed them.\n",
        '"""\n',
        _HEADER,
        _arrays(arrays, "float32", json_file),
        f"temperature = {float(temperature)!r}\n",
        "\n",
        f"query = x @ w_q{' + b_q' if bias else ''}  # (T, d_k)\n",
        f"key = x @ w_k{' + b_k' if bias else ''}  # (T, d_k)\n",
        "scores = query @ key.T  # (T, T)  q·kᵀ\n",
        "scale = 1 / (math.sqrt(query.shape[-1]) * temperature)\n",
        "scaled = scores * scale\n",
    ]
    if causal:
        lines.append("allowed = torch.ones(len(x), len(x), dtype=torch.bool).tril()  # key j <= query i\n")
        lines.append('scaled_masked = scaled.masked_fill(~allowed, float("-inf"))\n')
        lines.append("weights = torch.softmax(scaled_masked, dim=-1)  # (T, T)\n")
    else:
        lines.append("weights = torch.softmax(scaled, dim=-1)  # (T, T), rows sum to 1\n")
    lines += ["\n", 'print("scale =", scale)\n', 'print("scores =", scores)\n', 'print("weights =", weights)\n']
    return "".join(lines)


def multihead_snippet(
    x: np.ndarray,
    weights: Mapping[str, np.ndarray],
    *,
    num_heads: int,
    bias: bool,
    causal: bool,
    valid_len: int | None,
    json_file: str = "attnviz_mh.json",
) -> str:
    """Multi-head self-attention with W_O in float32: ``x`` ``(T, d_model)``, ``weights`` ``w_q, w_k, w_v, w_o``
    ``(d_model, d_model)`` (x @ W) and, with ``bias``, ``b_q, b_k, b_v, b_o`` ``(d_model,)``."""
    names = ("w_q", "w_k", "w_v", "w_o") + (("b_q", "b_k", "b_v", "b_o") if bias else ())
    arrays = {"x": x, **{n: weights[n] for n in names}}
    b = {n: f" + b_{n}" if bias else "" for n in ("q", "k", "v", "o")}
    lines = [
        '"""Multi-head self-attention with W_O (the Multi-head page), reproduced with torch alone."""\n',
        _HEADER,
        _arrays(arrays, "float32", json_file),
        f"num_heads = {int(num_heads)}\n",
        "\n",
        "T, d_model = x.shape\n",
        "d_head = d_model // num_heads\n",
        "\n",
        "def split(m):  # (T, d_model) -> (H, T, d_head): head h takes columns h·d_head … (h+1)·d_head − 1\n",
        "    return m.reshape(T, num_heads, d_head).permute(1, 0, 2)\n",
        "\n",
        "\n",
        f"query, key, value = split(x @ w_q{b['q']}), split(x @ w_k{b['k']}), split(x @ w_v{b['v']})\n",
        "scores = query @ key.transpose(-2, -1)  # (H, T, T)\n",
        "scale = 1 / math.sqrt(d_head)\n",
        "scaled = scores * scale\n",
        "allowed = torch.ones(T, T, dtype=torch.bool)\n",
    ]
    if causal:
        lines.append("allowed &= torch.ones(T, T, dtype=torch.bool).tril()  # causal: key j <= query i\n")
    if valid_len is not None:
        lines.append(f"allowed[:, {int(valid_len)}:] = False  # keys from position {int(valid_len)} on are padding\n")
    lines += [
        'weights = torch.softmax(scaled.masked_fill(~allowed, float("-inf")), dim=-1)  # (H, T, T)\n',
        "head_outputs = weights @ value  # (H, T, d_head)\n",
        "concat = head_outputs.permute(1, 0, 2).reshape(T, d_model)  # heads side by side\n",
        f"output = concat @ w_o{b['o']}  # (T, d_model)\n",
        "\n",
        'print("weights =", weights)\n',
        'print("output =", output)\n',
    ]
    return "".join(lines)


def positional_snippet(num_positions: int, d_model: int, base: float) -> str:
    """The sinusoidal encoding ``(num_positions, d_model)`` (computed in float64, as the page does, then float32)
    and the similarity ``PE·PEᵀ``."""
    return "".join(
        [
            '"""The sinusoidal positional encoding and PE·PEᵀ (the Positional-encoding page), with torch alone."""\n',
            _HEADER,
            f"num_positions, d_model, base = {int(num_positions)}, {int(d_model)}, {float(base)!r}\n",
            "\n",
            "position = torch.arange(num_positions, dtype=torch.float64)[:, None]  # (P, 1)\n",
            "exponents = torch.arange(0, d_model, 2, dtype=torch.float64) / d_model  # 2i/d_model, one per pair\n",
            "angles = position / base**exponents  # (P, ceil(d_model/2))\n",
            "pe = torch.zeros(num_positions, d_model, dtype=torch.float64)\n",
            "pe[:, 0::2] = torch.sin(angles)  # even columns: sin\n",
            "pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])  # odd columns: cos of the same angle\n",
            "pe = pe.float()\n",
            "similarity = pe @ pe.T  # (P, P)\n",
            "\n",
            'print("pe =", pe)\n',
            'print("similarity =", similarity)\n',
        ]
    )


def lab_snippet(
    x: np.ndarray,
    w_q: np.ndarray,
    w_k: np.ndarray,
    w_v: np.ndarray,
    additive: Mapping[str, np.ndarray],
    *,
    json_file: str = "attnviz_lab.json",
) -> str:
    """The attention lab's four score functions (dot, scaled dot, cosine, additive) on one Q, K, V in float64:
    ``x`` ``(T, d_in)``, ``w_*`` ``(d_in, d_k)``; ``additive`` ``{"additive_w_q", "additive_w_k"}`` ``(d_k, h)``
    and ``"additive_w_v"`` ``(h,)``. Prints ``scaled`` (what each softmax receives) and ``weights``, both
    ``(4, T, T)`` in that order."""
    names = ("additive_w_q", "additive_w_k", "additive_w_v")
    arrays = {"x": x, "w_q": w_q, "w_k": w_k, "w_v": w_v, **{n: additive[n] for n in names}}
    return "".join(
        [
            '"""Four score functions on the same Q, K, V (the Attention lab), reproduced with torch alone."""\n',
            _HEADER,
            _arrays(arrays, "float64", json_file),
            "\n",
            "query, key, value = x @ w_q, x @ w_k, x @ w_v  # (T, d_k) each\n",
            "d_k = query.shape[-1]\n",
            "\n",
            "\n",
            "def unit_rows(m):  # each row divided by its length (a zero row stays zero)\n",
            "    return m / torch.linalg.vector_norm(m, dim=-1, keepdim=True).clamp_min(torch.finfo(m.dtype).tiny)\n",
            "\n",
            "\n",
            "dot = query @ key.T  # (T, T)  q·k, no scaling\n",
            "scaled_dot = (query @ key.T) * (1 / math.sqrt(d_k))  # (T, T)  q·k / √d_k\n",
            "cosine = unit_rows(query) @ unit_rows(key).T  # (T, T)  q·k / (‖q‖ ‖k‖)\n",
            "hidden = torch.tanh((query @ additive_w_q)[:, None, :] + (key @ additive_w_k)[None, :, :])  # (T, T, h)\n",
            "additive = hidden @ additive_w_v  # (T, T)  tanh(q W_q + k W_k) · w_v\n",
            "scaled = torch.stack([dot, scaled_dot, cosine, additive])  # (4, T, T)  what each softmax receives\n",
            "weights = torch.softmax(scaled, dim=-1)  # (4, T, T), rows sum to 1\n",
            "output = weights @ value  # (4, T, d_k)\n",
            "\n",
            'print("scaled =", scaled)\n',
            'print("weights =", weights)\n',
        ]
    )


def cross_snippet(
    query: np.ndarray,
    source: np.ndarray,
    valid_lens: tuple[int, ...],
    parameters: Mapping[str, np.ndarray],
    *,
    num_heads: int,
    json_file: str = "attnviz_cross.json",
) -> str:
    """Multi-head cross-attention in float32 with ``torch.nn.MultiheadAttention`` and a ``key_padding_mask``:
    ``query`` ``(T_q, d_model)`` (the target, the same for every batch row), ``source`` ``(B, T_k, d_model)``
    padded, ``valid_lens`` per batch row; ``parameters`` ``w_q, w_k, w_v, w_o`` ``(d_model, d_model)`` (x @ W) and
    optionally ``b_q, b_k, b_v, b_o``. Prints ``weights`` ``(B, H, T_q, T_k)`` and ``output`` ``(B, T_q, d_model)``."""
    bias = "b_q" in parameters
    names = ("w_q", "w_k", "w_v", "w_o") + (("b_q", "b_k", "b_v", "b_o") if bias else ())
    arrays = {"query": query, "source": source, **{n: parameters[n] for n in names}}
    lines = [
        '"""Multi-head cross-attention over a padded batch (the Cross-attention page), with torch alone."""\n',
        _HEADER,
        _arrays(arrays, "float32", json_file),
        f"num_heads = {int(num_heads)}\n",
        f"valid_lens = torch.tensor({[int(n) for n in valid_lens]})  # real source tokens per batch row\n",
        "\n",
        "B, T_k, d_model = source.shape\n",
        "target = query.expand(B, -1, -1)  # (B, T_q, d_model): the same target sentence for every batch row\n",
        "padding = torch.arange(T_k)[None, :] >= valid_lens[:, None]  # (B, T_k), True = a padding key\n",
        f"mha = torch.nn.MultiheadAttention(d_model, num_heads, bias={bias}, batch_first=True, dtype=torch.float32)\n",
        "with torch.no_grad():  # nn.Linear stores W transposed: y = x @ W.T\n",
        "    mha.in_proj_weight.copy_(torch.cat([w_q.T, w_k.T, w_v.T]))\n",
        "    mha.out_proj.weight.copy_(w_o.T)\n",
    ]
    if bias:
        lines += [
            "    mha.in_proj_bias.copy_(torch.cat([b_q, b_k, b_v]))\n",
            "    mha.out_proj.bias.copy_(b_o)\n",
        ]
    lines += [
        "    output, weights = mha(\n",
        "        target, source, source, key_padding_mask=padding, need_weights=True, average_attn_weights=False\n",
        "    )  # (B, T_q, d_model), (B, H, T_q, T_k)\n",
        "\n",
        'print("weights =", weights)\n',
        'print("output =", output)\n',
    ]
    return "".join(lines)


def encoder_snippet(
    x: np.ndarray,
    parameters: Mapping[str, np.ndarray],
    *,
    num_layers: int,
    num_heads: int,
    d_ff: int,
    norm_first: bool,
    activation: str,
    causal: bool,
    valid_len: int | None,
    layer: int,
    json_file: str = "attnviz_encoder.json",
) -> str:
    """The Encoder page's stack as ``torch.nn.TransformerEncoder`` in float32: ``x`` ``(T, d_model)``, per layer
    ``l`` the parameters ``layer{l}_w_q`` … (x @ W; see :data:`attnviz.encoder_share.PARAMETER_NAMES`). Prints layer
    ``layer``'s per-head ``weights`` ``(H, T, T)`` and the model's ``output`` ``(T, d_model)``."""
    from attnviz.encoder_share import PARAMETER_NAMES

    names = [f"layer{i}_{n}" for i in range(num_layers) for n in PARAMETER_NAMES]
    arrays = {"x": x, **{n: parameters[n] for n in names}}
    mask = "torch.ones(T, T, dtype=torch.bool).tril().logical_not()" if causal else "None"
    padding = "None" if valid_len is None else f"(torch.arange(T) >= {int(valid_len)})[None, :]"
    lines = [
        '"""The encoder stack (the Encoder page) as torch.nn.TransformerEncoder, with torch alone."""\n',
        _HEADER,
        _arrays(arrays, "float32", json_file),
        f"num_layers, num_heads, d_ff, layer = {int(num_layers)}, {int(num_heads)}, {int(d_ff)}, {int(layer)}\n",
        "T, d_model = x.shape\n",
        f"src_mask = {mask}  # True = may NOT attend (torch's convention)\n",
        f"padding = {padding}  # (1, T), True = a padding key\n",
        "\n",
        "block = torch.nn.TransformerEncoderLayer(\n",
        f"    d_model, num_heads, d_ff, dropout=0.0, activation={activation!r}, batch_first=True, "
        f"norm_first={bool(norm_first)}\n",
        ")\n",
        "encoder = torch.nn.TransformerEncoder(block, num_layers, enable_nested_tensor=False).eval()\n",
        "weights_of = {}\n",
        "with torch.no_grad():  # nn.Linear stores W transposed: y = x @ W.T\n",
        "    for i, m in enumerate(encoder.layers):\n",
        "        p = {n: globals()[f'layer{i}_{n}'] for n in "
        "('w_q', 'w_k', 'w_v', 'w_o', 'b_q', 'b_k', 'b_v', 'b_o', 'w_1', 'b_1', 'w_2', 'b_2',\n",
        "                                                  'norm1_weight', 'norm1_bias', 'norm2_weight', 'norm2_bias')}\n",
        "        m.self_attn.in_proj_weight.copy_(torch.cat([p['w_q'].T, p['w_k'].T, p['w_v'].T]))\n",
        "        m.self_attn.in_proj_bias.copy_(torch.cat([p['b_q'], p['b_k'], p['b_v']]))\n",
        "        m.self_attn.out_proj.weight.copy_(p['w_o'].T)\n",
        "        m.self_attn.out_proj.bias.copy_(p['b_o'])\n",
        "        m.linear1.weight.copy_(p['w_1'].T)\n",
        "        m.linear1.bias.copy_(p['b_1'])\n",
        "        m.linear2.weight.copy_(p['w_2'].T)\n",
        "        m.linear2.bias.copy_(p['b_2'])\n",
        "        m.norm1.weight.copy_(p['norm1_weight'])\n",
        "        m.norm1.bias.copy_(p['norm1_bias'])\n",
        "        m.norm2.weight.copy_(p['norm2_weight'])\n",
        "        m.norm2.bias.copy_(p['norm2_bias'])\n",
        "    output = encoder(x[None], mask=src_mask, src_key_padding_mask=padding)[0]  # (T, d_model)\n",
        "    h = x[None]  # the same stack layer by layer, to read the opened layer's per-head weights\n",
        "    for i, m in enumerate(encoder.layers):\n",
        "        a = m.norm1(h) if m.norm_first else h\n",
        "        if i == layer:\n",
        "            _, w = m.self_attn(a, a, a, attn_mask=src_mask, key_padding_mask=padding, need_weights=True,\n",
        "                               average_attn_weights=False)\n",
        "            weights = w[0]  # (H, T, T)\n",
        "        h = m(h, src_mask=src_mask, src_key_padding_mask=padding)\n",
        "\n",
        'print("weights =", weights)\n',
        'print("output =", output)\n',
    ]
    return "".join(lines)


def image_snippet(
    tokens: np.ndarray,
    parameters: Mapping[str, np.ndarray],
    *,
    num_heads: int,
    row: int,
    col: int,
    grid: int = 20,
    json_file: str = "attnviz_img.json",
) -> str:
    """The Image-attention page's attention step as ``torch.nn.MultiheadAttention`` (no biases) in float32:
    ``tokens`` ``(grid², C)`` (the CNN's feature map read row by row), ``parameters`` ``w_q``, ``w_k``, ``w_v``,
    ``w_o`` ``(C, C)`` (x @ W). Prints the query ``(row, col)``'s per-head weights as ``(H, grid, grid)`` maps
    (``query_map``) and their mean over heads (``query_mean``)."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 2 or tokens.shape[0] != grid * grid:
        raise ValueError(f"tokens must have shape ({grid * grid}, C), got {tokens.shape}")
    for name, value in (("row", row), ("col", col)):
        if not 0 <= int(value) < grid:
            raise ValueError(f"{name}={value} must be between 0 and {grid - 1}")
    arrays = {"tokens": tokens, **{n: parameters[n] for n in ("w_q", "w_k", "w_v", "w_o")}}
    lines = [
        '"""The Image-attention page\'s self-attention over the 20 × 20 feature map, with torch alone."""\n',
        _HEADER,
        _arrays(arrays, "float32", json_file),
        f"num_heads, row, col, grid = {int(num_heads)}, {int(row)}, {int(col)}, {int(grid)}\n",
        "c = tokens.shape[1]  # token width: the last conv block's channels\n",
        "attention = torch.nn.MultiheadAttention(c, num_heads, bias=False, batch_first=True).eval()\n",
        "with torch.no_grad():  # nn.Linear stores W transposed: y = x @ W.T\n",
        "    attention.in_proj_weight.copy_(torch.cat([w_q.T, w_k.T, w_v.T]))\n",
        "    attention.out_proj.weight.copy_(w_o.T)\n",
        "    x = tokens[None]  # (1, 400, C): every position attends to every other one\n",
        "    _, weights = attention(x, x, x, need_weights=True, average_attn_weights=False)  # (1, H, 400, 400)\n",
        "query_map = weights[0, :, row * grid + col].reshape(num_heads, grid, grid)  # the query's row, per head\n",
        "query_mean = query_map.mean(dim=0)\n",
        "\n",
        'print("query_map =", query_map)\n',
        'print("query_mean =", query_mean)\n',
    ]
    return "".join(lines)


def _train_task_code(task: str) -> str:
    """The task's batches as torch code: ``answer(x)`` (the rule) and ``batch(n, generator, split)``."""
    from attnviz.training import tasks as t

    if task in ("reverse", "sort", "shift"):
        rule = {
            "reverse": "x.flip(-1)  # output i is input T−1−i",
            "sort": "x.sort(dim=-1).values  # output i is the token of rank i",
            "shift": f"x.roll({t.SHIFT}, dims=-1)  # output i is input (i − {t.SHIFT}) mod T",
        }[task]
        return (
            "def answer(x):  # (B, T) -> the target of every position (B, T)\n"
            f"    return {rule}\n"
            "\n\n"
            'def batch(n, generator, split="train"):  # fresh random sequences, for training and evaluation alike\n'
            "    x = torch.randint(0, vocab, (n, seq_len), generator=generator)  # (B, T)\n"
            "    return x, answer(x)\n"
        )
    if task == "follow":
        return (
            "def answer(x):  # the token after the latest earlier occurrence of token i, or class vocab (·) if none\n"
            "    same = x.unsqueeze(-1) == x.unsqueeze(-2)  # (B, T_i, T_j): x_j == x_i\n"
            "    earlier = torch.ones(seq_len, seq_len, dtype=torch.bool).tril(-1)  # j < i\n"
            "    last = torch.where(same & earlier, torch.arange(seq_len), -1).amax(dim=-1)  # (B, T), -1 if none\n"
            "    after = x.gather(-1, (last + 1).clamp(max=seq_len - 1))  # (B, T)\n"
            "    return torch.where(last >= 0, after, torch.full_like(x, vocab))\n"
            "\n\n"
            'def batch(n, generator, split="train"):  # fresh random sequences, for training and evaluation alike\n'
            "    x = torch.randint(0, vocab, (n, seq_len), generator=generator)  # (B, T)\n"
            "    return x, answer(x)\n"
        )
    if task != "it":
        raise ValueError(f"task={task!r} is not one of {', '.join(t.TASKS)}")
    return (
        "# The grammar: the N1 didn't V the N2 because it was too ADJ. Every 5th sentence is held out for evaluation.\n"
        f"animals, places = {t.IT_ANIMALS!r}, {t.IT_PLACES!r}\n"
        f"verb_objects = {{{', '.join(f'{v!r}: {_it_objects(o)}' for v, o in t._VERB_OBJECTS.items())}}}\n"
        f"subject_side = {t.IT_ADJECTIVES_SUBJECT!r}  # why the subject did not act: it = the subject\n"
        f"object_side_animal = {t.IT_ADJECTIVES_OBJECT_ANIMAL!r}  # describe the object: it = the object\n"
        f"object_side_place = {t.IT_ADJECTIVES_OBJECT_PLACE!r}\n"
        f"words = {t.IT_VOCAB!r}  # token id = index\n"
        "ids = {w: i for i, w in enumerate(words)}\n"
        "tables = {}  # (split, it = the subject) -> token ids (N, 11)\n"
        "sentences = [\n"
        "    (s, v, o, a)\n"
        "    for v, objects in verb_objects.items()\n"
        "    for s in animals\n"
        "    for o in objects\n"
        "    if o != s\n"
        "    for a in subject_side + (object_side_place if o in places else object_side_animal)\n"
        "]\n"
        "for index, (s, v, o, a) in enumerate(sentences):\n"
        f'    split = "eval" if index % {t.IT_HELDOUT_EVERY} == {t.IT_HELDOUT_EVERY - 1} else "train"\n'
        '    sentence = ["the", s, "didn\'t", v, "the", o, "because", "it", "was", "too", a]\n'
        "    tables.setdefault((split, a in subject_side), []).append([ids[w] for w in sentence])\n"
        "tables = {key: torch.tensor(rows) for key, rows in tables.items()}\n"
        "subject_ids = torch.tensor([ids[w] for w in subject_side])\n"
        "object_ids = torch.tensor([ids[w] for w in object_side_animal + object_side_place])\n"
        "\n\n"
        f"def answer(x):  # at “it” (position {t.IT_POSITION}): the noun it refers to; nothing to predict elsewhere\n"
        "    target = torch.full_like(x, IGNORE)\n"
        "    subject, obj = torch.isin(x[:, -1], subject_ids), torch.isin(x[:, -1], object_ids)\n"
        f"    referent = torch.where(subject, x[:, {t.IT_SUBJECT_POSITION}], x[:, {t.IT_OBJECT_POSITION}])\n"
        f"    target[:, {t.IT_POSITION}] = torch.where(subject | obj, referent, torch.full_like(referent, IGNORE))\n"
        "    return target\n"
        "\n\n"
        'def batch(n, generator, split="train"):  # half the sentences with it = the subject\n'
        "    side = torch.rand(n, generator=generator) < 0.5  # (B,)\n"
        "    x = torch.empty(n, seq_len, dtype=torch.long)\n"
        "    for it_is_subject in (True, False):\n"
        "        table = tables[(split, it_is_subject)]\n"
        "        rows = torch.randint(0, len(table), (n,), generator=generator)\n"
        "        x[side == it_is_subject] = table[rows[side == it_is_subject]]\n"
        "    return x, answer(x)\n"
    )


def _it_objects(objects: tuple[str, ...]) -> str:
    from attnviz.training import tasks as t

    return {t.IT_PLACES: "places", t.IT_ANIMALS: "animals", t.IT_NOUNS: "animals + places"}[objects]


def train_snippet(
    config: object,
    example: Sequence[int],
    *,
    steps: int | None = None,
) -> str:
    """The Train page's run from scratch with torch alone: the task's batches, the seeded TinyTransformer (token
    embedding + sinusoidal positions, post-norm encoder layers, a linear classifier), Adam for ``steps`` steps
    (the config's by default), then the final training loss, the held-out token accuracy and the attention
    ``weights`` ``(L, H, T, T)`` on ``example`` (token ids ``(T,)``).

    ``config`` is a resolved :class:`attnviz.training.train.TrainConfig`. The script draws the same random numbers
    in the same order and runs the same operations as :func:`attnviz.training.train.train_config`, on one CPU
    thread as the app trains, so it prints the app's numbers bit for bit (on the same torch build)."""
    from attnviz.training.tasks import get_task

    c = config
    num_classes = get_task(c.task).num_classes(c.vocab)
    steps = c.steps if steps is None else int(steps)
    tokens = [int(i) for i in example]
    if len(tokens) != c.seq_len:
        raise ValueError(f"example has {len(tokens)} tokens; the model reads {c.seq_len}")
    lines = [
        f'"""Train the tiny transformer of the Train page on the task {c.task!r} with torch alone.\n\n',
        "Same seed, same initial weights, same batches, same Adam steps as the page; on one CPU thread the printed\n",
        "loss, accuracy and attention weights are the page's to the last bit.\n",
        '"""\n\n',
        "import math\n\n",
        "import torch\n",
        "import torch.nn.functional as F\n\n",
        "torch.set_num_threads(1)  # as the page trains: the same sums in the same order give the same bits\n",
        "torch.set_printoptions(precision=6, linewidth=120, threshold=100_000)\n\n",
        f"seq_len, vocab, num_classes = {c.seq_len}, {c.vocab}, {int(num_classes)}\n",
        f"d_model, num_heads, num_layers, d_ff = {c.d_model}, {c.num_heads}, {c.num_layers}, {c.d_ff}\n",
        f"steps, lr, seed, batch_size, eval_size = {steps}, {float(c.lr)!r}, {c.seed}, {c.batch_size}, {c.eval_size}\n",
        f"example = torch.tensor({tokens})  # (T,) the input whose attention is printed\n",
        "d_head = d_model // num_heads\n",
        "IGNORE = -100  # target of a position with nothing to predict (cross_entropy's ignore_index)\n\n",
        _train_task_code(c.task),
        "\n\n",
        "# -- the model, initialised from the seed alone (its own generators, never torch's global one)\n",
        "def uniform(shape, bound, generator):  # uniform in ±bound, drawn in float64, as nn.Linear's scheme\n",
        "    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1).mul(bound).float()\n",
        "\n\n",
        "g = torch.Generator().manual_seed(seed)\n",
        "embedding = torch.randn(vocab, d_model, generator=g)  # (vocab, d_model)\n",
        "position = torch.arange(seq_len, dtype=torch.float64).unsqueeze(1)  # (T, 1)\n",
        "pe = torch.empty(seq_len, d_model, dtype=torch.float64)  # sinusoidal positions, computed in float64\n",
        "pe[:, 0::2] = torch.sin(position * 10000.0 ** -(torch.arange(0, d_model, 2, dtype=torch.float64) / d_model))\n",
        "pe[:, 1::2] = torch.cos(position * 10000.0 ** -(torch.arange(0, d_model - 1, 2, dtype=torch.float64) / d_model))\n",
        "pe = pe.float()  # (T, d_model)\n",
        "layers = []\n",
        "for layer in range(num_layers):\n",
        "    a = torch.Generator().manual_seed(seed * 1000 + 1 + layer)  # the attention's stream\n",
        "    f = torch.Generator().manual_seed(seed * 1000 + 1 + layer + 7919)  # the feed-forward's stream\n",
        "    xavier, bound = math.sqrt(6.0 / (d_model + d_model)), 1.0 / math.sqrt(d_model)\n",
        "    p = {name: uniform((d_model, d_model), xavier, a) for name in ('w_q', 'w_k', 'w_v')}  # x @ W\n",
        "    p['w_o'] = uniform((d_model, d_model), bound, a)\n",
        "    p |= {name: uniform((d_model,), bound, a) for name in ('b_q', 'b_k', 'b_v', 'b_o')}\n",
        "    p['w_1'] = uniform((d_model, d_ff), 1.0 / math.sqrt(d_model), f)\n",
        "    p['w_2'] = uniform((d_ff, d_model), 1.0 / math.sqrt(d_ff), f)\n",
        "    p['b_1'] = uniform((d_ff,), 1.0 / math.sqrt(d_model), f)\n",
        "    p['b_2'] = uniform((d_model,), 1.0 / math.sqrt(d_ff), f)\n",
        "    p |= {'norm1_weight': torch.ones(d_model), 'norm1_bias': torch.zeros(d_model)}\n",
        "    p |= {'norm2_weight': torch.ones(d_model), 'norm2_bias': torch.zeros(d_model)}\n",
        "    layers.append(p)\n",
        "bound = 1.0 / math.sqrt(d_model)\n",
        "w_out = (torch.rand(d_model, num_classes, generator=g) * 2 - 1) * bound  # (d_model, C)\n",
        "b_out = (torch.rand(num_classes, generator=g) * 2 - 1) * bound  # (C,)\n",
        "parameters = [embedding, w_out, b_out] + [t for p in layers for t in p.values()]\n",
        "for t in parameters:\n",
        "    t.requires_grad_()\n",
        "\n\n",
        "def layer_norm(x, weight, bias, eps=1e-5):  # over d_model, written out\n",
        "    mean = x.mean(dim=-1)  # (B, T)\n",
        "    centered = x - mean.unsqueeze(-1)\n",
        "    std = torch.sqrt(centered.pow(2).mean(dim=-1) + eps)  # (B, T)\n",
        "    return centered / std.unsqueeze(-1) * weight + bias\n",
        "\n\n",
        "def forward(tokens):  # token ids (B, T) -> logits (B, T, C), attention weights (B, L, H, T, T)\n",
        "    B, T = tokens.shape\n",
        "    x = embedding[tokens] + pe  # (B, T, d_model)\n",
        "    weights = []\n",
        "    for p in layers:  # post-norm encoder layer: x = LN(x + attention(x)); x = LN(x + FFN(x))\n",
        "        w = torch.cat([p['w_q'], p['w_k'], p['w_v']], dim=1)  # (d_model, 3·d_model): one product for Q, K, V\n",
        "        b = torch.cat([p['b_q'], p['b_k'], p['b_v']])\n",
        "        qkv = torch.addmm(b, x.reshape(-1, d_model), w).reshape(B, T, 3 * d_model)\n",
        "        q, k, v = (m.reshape(B, T, num_heads, d_head).permute(0, 2, 1, 3) for m in qkv.chunk(3, dim=-1))\n",
        "        scores = q @ k.transpose(-2, -1)  # (B, H, T, T)  q·kᵀ\n",
        "        weight = torch.softmax(scores * (1.0 / math.sqrt(d_head)), dim=-1)  # (B, H, T, T)\n",
        "        concat = (weight @ v).permute(0, 2, 1, 3).reshape(B, T, d_model)  # heads side by side\n",
        "        attention = torch.addmm(p['b_o'], concat.reshape(-1, d_model), p['w_o']).reshape(B, T, d_model)\n",
        "        x = layer_norm(x + attention, p['norm1_weight'], p['norm1_bias'])\n",
        "        ffn = F.relu(x @ p['w_1'] + p['b_1']) @ p['w_2'] + p['b_2']  # (B, T, d_model)\n",
        "        x = layer_norm(x + ffn, p['norm2_weight'], p['norm2_bias'])\n",
        "        weights.append(weight)\n",
        "    return x @ w_out + b_out, torch.stack(weights, dim=1)\n",
        "\n\n",
        "# -- training: a fresh batch per step from the seed's stream, held-out data from its own (seed + 1)\n",
        'eval_inputs, eval_targets = batch(eval_size, torch.Generator().manual_seed(seed + 1), "eval")\n',
        "generator = torch.Generator().manual_seed(seed)\n",
        "optimizer = torch.optim.Adam(parameters, lr=lr)\n",
        "for step in range(1, steps + 1):\n",
        "    inputs, targets = batch(batch_size, generator)\n",
        "    logits, _ = forward(inputs)  # (B, T, C)\n",
        "    loss = F.cross_entropy(logits.reshape(-1, num_classes), targets.reshape(-1), ignore_index=IGNORE)\n",
        "    optimizer.zero_grad(set_to_none=True)\n",
        "    loss.backward()\n",
        "    optimizer.step()\n",
        "\n",
        "with torch.no_grad():\n",
        "    predicted = forward(eval_inputs)[0].argmax(-1)  # (N, T)\n",
        "    scored = eval_targets != IGNORE  # positions with an answer\n",
        "    accuracy = (predicted == eval_targets)[scored].float().mean()\n",
        "    weights = forward(example.unsqueeze(0))[1][0]  # (L, H, T, T): row = query, column = key\n",
        "\n",
        'print("loss =", loss.item())  # the last training batch\'s\n',
        'print("accuracy =", accuracy.item())  # held-out token accuracy\n',
        'print("weights =", weights)\n',
    ]
    return "".join(lines)

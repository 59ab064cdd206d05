"""The attention lab: score functions, why √d_k, temperature, dropout, masks and a tutorial's bug, on one Q, K, V."""

import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.figures import bar_chart, heatmap_grid
from attnviz.lab_figures import SCALING_STATS, scaling_curve, score_histogram
from attnviz.lab_views import fill_value_story
from attnviz.ui import lab as page
from attnviz.ui import share
from attnviz.ui.cache import figure, heatmap_figure
from attnviz.ui.cells import CLICK_HINT
from attnviz.ui.render import KEPT, last_good, page_nav, show_figure, show_problems, step

st.set_page_config(page_title="Attention lab · attnviz", page_icon="🔎", layout="wide")
page_nav()
W = {"kind": "weights", "value_title": "weight"}

st.title("Attention lab")
st.markdown(
    "One set of queries, keys and values, and the knobs the tutorials talk about: how scores are computed, why "
    "they are divided by √d_k, what temperature, dropout and masks do to the weights, and a bug worth seeing once."
)
share.restore(page.SHARE)
with st.sidebar:
    settings = page.controls()
if settings.source == "sentence":
    st.text_input("Sentence", key="lab_sentence", help="Any language; up to 64 tokens.")
refused = show_problems(settings.problems, kept=KEPT)
kept = last_good("lab_last_good", None if refused else lambda: (page.inputs(settings), settings))
if kept is None:
    st.stop()
lab, settings = kept
labels, t = lab.labels, len(lab.labels)
small = {"show_text": t <= 8, "max_ticks": 16}
if t == 1:
    st.info("One token: every softmax over one key is 1, whatever the scores. Type a longer sentence.", icon="ℹ️")
st.caption(f"{t} tokens, d_k = {lab.d_k}: Q = X·W_q, K = X·W_k, V = X·W_v ({lab.source}).")

step(
    1,
    "Score functions side by side",
    "The same Q and K scored four ways. The weights share one colour scale (0 to 1), so you can compare how "
    "sharp each is; each softmax row sums to 1.",
)
sc = page.scores(settings)
st.markdown("\n".join(f"- **{name}**: {note}" for name, note in zip(sc.names, sc.notes, strict=True)))
weights_grid = figure(
    heatmap_grid,
    sc.weights,
    sc.labels,
    sc.labels,
    panel_titles=list(sc.names),
    max_cols=2,
    panel_height=320,
    title="weights = softmax(score) for each score function",
    value_title="weight",
)
st.caption(CLICK_HINT)
page.explain_score(lab, sc, "weights", show_figure(weights_grid, "lab_score_weights", on_select=True))
st.caption("The scores each softmax received (each on its own colour scale: their ranges differ a lot):")
for row in (0, 2):
    for column, h in zip(st.columns(2), (row, row + 1), strict=True):
        with column:
            fig = heatmap_figure(sc.scores[h], sc.labels, sc.labels, title=f"{sc.names[h]}: scores", **small)
            if sc.names[h] == "additive":  # tanh(q W_q + k W_k)·w_v is not written out term by term
                show_figure(fig, f"lab_s_{h}")
            else:
                page.explain_score(lab, sc, "scaled", show_figure(fig, f"lab_s_{h}", on_select=True), h)

step(
    2,
    "Why divide by √d_k",
    "Seed 003: “除以d_k开根号的原因：当向量维度dk较大时，点积结果可能变得非常大，导致softmax函数进入饱和区，梯度消失。” "
    "— when d_k is large the dot products grow large, the softmax saturates and the gradient vanishes. Below: "
    "queries and keys with unit-variance entries, 16 keys per query, 128 queries.",
)
d_k = page.scaling_controls()
sv = page.scaling(d_k)
c = sv.current
st.markdown(
    f"At d_k = {d_k}: Var(q·k) = **{c.variance_unscaled:.1f}** (theory: d_k = {d_k}) but Var(q·k/√d_k) = "
    f"**{c.variance_scaled:.2f}**. Unscaled, the largest weight averages **{c.max_weight_unscaled:.3f}** (entropy "
    f"{c.entropy_unscaled:.2f} of at most 4 bits) and the softmax's Jacobian has norm **{c.jacobian_unscaled:.4f}**; "
    f"scaled: {c.max_weight_scaled:.3f}, {c.entropy_scaled:.2f} bits, {c.jacobian_scaled:.4f}. "
    + (
        f"The unscaled gradient is {c.jacobian_scaled / c.jacobian_unscaled:.1f}× smaller: that is the vanishing."
        if c.jacobian_unscaled < c.jacobian_scaled / 2
        else "At this d_k the two are still close: slide d_k up."
    )
)
left, right = st.columns(2)
with left:
    hist = figure(score_histogram, {"q·k": sv.raw, "q·k / √d_k": sv.scaled}, title=f"scores at d_k = {d_k}")
    show_figure(hist, "lab_hist")
with right:
    pair = [sv.weights_unscaled, sv.weights_scaled]
    for name, w in zip(("softmax(q·k)", "softmax(q·k / √d_k)"), pair, strict=True):
        fig = heatmap_figure(w, sv.row_labels, sv.key_labels, title=name, height=230, show_text=False, **W)
        show_figure(fig, f"lab_sat_{name}")
for column, stat in zip(st.columns(3), SCALING_STATS, strict=True):
    with column:
        show_figure(figure(scaling_curve, sv.points, stat, current=d_k), f"lab_curve_{stat}")

step(3, "Temperature", "weights = softmax(q·k / √d_k / τ). τ → 0 tends to the argmax (one key), τ → ∞ to uniform.")
tau = page.temperature_controls()
tv = page.temperature(settings, tau)
st.markdown(
    f"τ = {tau:g}: max |weights − one-hot argmax| = {tv.gap_to_argmax:.3f}, max |weights − 1/{t}| = "
    f"{tv.gap_to_uniform:.3f}. Entropy H of a row in bits; 2^H is the effective number of keys it attends to "
    f"(1 = one key, {t} = all equally): here from {tv.effective_keys.min():.2f} to {tv.effective_keys.max():.2f}."
)
left, right = st.columns([3, 2])
with left:
    show_figure(heatmap_figure(tv.weights, labels, labels, title=f"weights at τ = {tau:g}", **W), "lab_tau_w")
with right:
    bars = bar_chart(
        tv.effective_keys, labels, title="effective keys 2^H per query", value_title="keys", label_title="query"
    )
    show_figure(bars, "lab_tau_keys")
    table = {"query": list(labels), "entropy (bits)": tv.entropy_bits, "effective keys": tv.effective_keys}
    number = st.column_config.NumberColumn(format="%.3f")
    st.dataframe(table, hide_index=True, height=200, column_config={"entropy (bits)": number, "effective keys": number})

step(
    4,
    "Dropout on the weights",
    "Seed 003's `attention(q, k, v, dropout)` applies `dropout(p_attn)`: in train mode each weight is zeroed with "
    "probability p and the rest are multiplied by 1/(1 − p), so a row no longer sums to 1 (only on average); "
    "eval mode leaves the weights alone.",
)
p, seed, train = page.dropout_controls()
dv = page.dropout(settings, p, seed, train)
st.markdown(
    f"{'Train' if train else 'Eval'} mode, p = {p:g}: row sums from {dv.row_sums.min():.3f} to "
    f"{dv.row_sums.max():.3f}; the output changes by up to {dv.output_change:.3f}."
)
left, right = st.columns(2)
top = float(max(dv.weights.max(), dv.dropped.max()))
with left:
    show_figure(
        heatmap_figure(dv.weights, labels, labels, title="weights before dropout", zmax=top, **W), "lab_drop_before"
    )
with right:
    fig = heatmap_figure(dv.dropped, labels, labels, title="after dropout (train: ×1/(1−p))", zmax=top, **W)
    show_figure(fig, "lab_drop_after")

step(
    5,
    "Masks and fill values",
    "A mask says which keys each query may see. Exact masking gives a masked key weight 0; the tutorials instead "
    "write a big negative number into the scores (`masked_fill`) before the softmax, which differs when a row has "
    "no visible key at all, and breaks when the number is 0.",
)
spec, fill, problems = page.mask_controls(labels)
refused = show_problems(problems, kept=KEPT)
mv = last_good("lab_mask_last_good", None if refused else lambda: page.masks(settings, spec, fill))
if mv is not None and mv.labels == labels:
    st.markdown(fill_value_story(mv))
    cols = st.columns(3)
    figs = (
        heatmap_figure(
            mv.mask, labels, labels, title="mask (1 = may attend)", kind="weights", value_title="may attend", **small
        ),
        heatmap_figure(mv.masked, labels, labels, title="softmax input (masked)", zmax=mv.zmax, **small),
        heatmap_figure(mv.weights, labels, labels, title="masked weights", **W, **small),
    )
    for column, fig, name in zip(cols, figs, ("mask", "input", "weights"), strict=True):
        with column:
            show_figure(fig, f"lab_mask_{name}")

step(
    6,
    "The tutorial's SelfAttention bug",
    "Seed 003's `SelfAttention` computes `k = self.q_linear(x)` and `v = self.q_linear(x)`: K = V = Q. The scores "
    "become Q·Qᵀ, symmetric, and each token's own score q·q is its squared length, so tokens tend to attend to "
    "themselves. The fixed version uses `k_linear` and `v_linear` (same W_k, W_v as above).",
)
bv = page.bug(settings)
show_bug = st.toggle("Show the version as written in the tutorial next to the fixed one", key="lab_bug")
st.markdown(
    f"As written: max |S − Sᵀ| = {bv.asymmetry_buggy:.2g}, {bv.self_share_buggy:.0%} of the tokens attend most to "
    f"themselves. Fixed: max |S − Sᵀ| = {bv.asymmetry_fixed:.3f}, {bv.self_share_fixed:.0%}."
)
versions = [("as written (K = V = Q)", bv.buggy_scores, bv.buggy_weights)] if show_bug else []
versions.append(("fixed", bv.fixed_scores, bv.fixed_weights))
for column, (name, scores, weights) in zip(st.columns(len(versions)), versions, strict=True):
    with column:
        show_figure(
            heatmap_figure(scores, labels, labels, title=f"{name}: scaled scores", max_ticks=16), f"lab_bug_s_{name}"
        )
        show_figure(
            heatmap_figure(weights, labels, labels, title=f"{name}: weights", **W, max_ticks=16), f"lab_bug_w_{name}"
        )

share.panel(page.SHARE, **page.shared_state(lab, sc, settings))

"""The attention lab: score functions, why √d_k, temperature, dropout, masks and a tutorial's bug, on one Q, K, V."""

import math

import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.figures import bar_chart, heatmap_grid
from attnviz.i18n import gettext as _
from attnviz.lab import LAB_MAX_TOKENS
from attnviz.lab_figures import SCALING_STATS, scaling_curve, score_histogram
from attnviz.lab_views import SCORE_NAMES, fill_value_story
from attnviz.ui import lab as page
from attnviz.ui import share
from attnviz.ui.cache import figure, heatmap_figure
from attnviz.ui.cells import CLICK_HINT
from attnviz.ui.render import KEPT, last_good, page_nav, show_figure, show_problems, step

st.set_page_config(page_title=f"{_('Attention lab')} · attnviz", page_icon="🔎", layout="wide")
page_nav()
W = {"kind": "weights", "value_title": _("weight")}

st.title(_("Attention lab"))
st.markdown(
    _(
        "One set of queries, keys and values, and the knobs the tutorials talk about: how scores are computed, why "
        "they are divided by √d_k, what temperature, dropout and masks do to the weights, and a bug worth seeing once."
    )
)
share.restore(page.SHARE)
with st.sidebar:
    settings = page.controls()
if settings.source == "sentence":
    st.text_input(
        _("Sentence"), key="lab_sentence", help=_("Any language; up to {most} tokens.").format(most=LAB_MAX_TOKENS)
    )
refused = show_problems(settings.problems, kept=KEPT)
kept = last_good("lab_last_good", None if refused else lambda: (page.inputs(settings), settings))
if kept is None:
    st.stop()
lab, settings = kept
labels, t = lab.labels, len(lab.labels)
small = {"show_text": t <= 8, "max_ticks": 16}
if t == 1:
    st.info(_("One token: every softmax over one key is 1, whatever the scores. Type a longer sentence."), icon="ℹ️")
st.caption(
    _("{count} tokens, d_k = {d_k}: Q = X·W_q, K = X·W_k, V = X·W_v ({source}).").format(
        count=t, d_k=lab.d_k, source=_(page.SOURCE_NAMES[lab.source])
    )
)

step(
    1,
    _("Score functions side by side"),
    _(
        "The same Q and K scored four ways. The weights share one colour scale (0 to 1), so you can compare how "
        "sharp each is; each softmax row sums to 1."
    ),
)
sc = page.scores(settings)
names = [_(SCORE_NAMES[name]) for name in sc.names]
st.markdown(
    "\n".join(
        _("- **{name}**: {note}").format(name=name, note=_(note)) for name, note in zip(names, sc.notes, strict=True)
    )
)
weights_grid = figure(
    heatmap_grid,
    sc.weights,
    sc.labels,
    sc.labels,
    panel_titles=names,
    max_cols=2,
    panel_height=320,
    title=_("weights = softmax(score) for each score function"),
    value_title=_("weight"),
)
st.caption(_(CLICK_HINT))
page.explain_score(lab, sc, "weights", show_figure(weights_grid, "lab_score_weights", on_select=True))
st.caption(_("The scores each softmax received (each on its own colour scale: their ranges differ a lot):"))
for row in (0, 2):
    for column, h in zip(st.columns(2), (row, row + 1), strict=True):
        with column:
            title = _("{name}: scores").format(name=names[h])
            fig = heatmap_figure(sc.scores[h], sc.labels, sc.labels, title=title, **small)
            if sc.names[h] == "additive":  # tanh(q W_q + k W_k)·w_v is not written out term by term
                show_figure(fig, f"lab_s_{h}")
            else:
                page.explain_score(lab, sc, "scaled", show_figure(fig, f"lab_s_{h}", on_select=True), h)

step(
    2,
    _("Why divide by √d_k"),
    _(
        "Seed 003: “{quote}” — when d_k is large the dot products grow large, the softmax saturates and the "
        "gradient vanishes. Below: queries and keys with unit-variance entries, {keys} keys per query, {queries} "
        "queries."
    ).format(
        quote="除以d_k开根号的原因：当向量维度dk较大时，点积结果可能变得非常大，导致softmax函数进入饱和区，梯度消失。",
        keys=16,  # scaling_view's num_keys and num_queries
        queries=128,
    ),
)
d_k = page.scaling_controls()
sv = page.scaling(d_k)
c = sv.current
verdict = (
    _("The unscaled gradient is {ratio:.1f}× smaller: that is the vanishing.").format(
        ratio=c.jacobian_scaled / c.jacobian_unscaled
    )
    if c.jacobian_unscaled < c.jacobian_scaled / 2
    else _("At this d_k the two are still close: slide d_k up.")
)
st.markdown(
    _(
        "At d_k = {d_k}: Var(q·k) = **{var_raw:.1f}** (theory: d_k = {d_k}) but Var(q·k/√d_k) = **{var_scaled:.2f}**. "
        "Unscaled, the largest weight averages **{max_raw:.3f}** (entropy {entropy_raw:.2f} of at most {bits:g} "
        "bits) and the softmax's Jacobian has norm **{jacobian_raw:.4f}**; scaled: {max_scaled:.3f}, "
        "{entropy_scaled:.2f} bits, {jacobian_scaled:.4f}. {verdict}"
    ).format(
        d_k=d_k,
        var_raw=c.variance_unscaled,
        var_scaled=c.variance_scaled,
        max_raw=c.max_weight_unscaled,
        entropy_raw=c.entropy_unscaled,
        bits=math.log2(len(sv.key_labels)),
        jacobian_raw=c.jacobian_unscaled,
        max_scaled=c.max_weight_scaled,
        entropy_scaled=c.entropy_scaled,
        jacobian_scaled=c.jacobian_scaled,
        verdict=verdict,
    )
)
left, right = st.columns(2)
with left:
    series = {"q·k": sv.raw, "q·k / √d_k": sv.scaled}
    hist = figure(score_histogram, series, title=_("scores at d_k = {d_k}").format(d_k=d_k))
    show_figure(hist, "lab_hist")
with right:
    pair = [sv.weights_unscaled, sv.weights_scaled]
    for name, w in zip(("softmax(q·k)", "softmax(q·k / √d_k)"), pair, strict=True):
        fig = heatmap_figure(w, sv.row_labels, sv.key_labels, title=name, height=230, show_text=False, **W)
        show_figure(fig, f"lab_sat_{name}")
for column, stat in zip(st.columns(3), SCALING_STATS, strict=True):
    with column:
        show_figure(figure(scaling_curve, sv.points, stat, current=d_k), f"lab_curve_{stat}")

step(
    3,
    _("Temperature"),
    _("weights = softmax(q·k / √d_k / τ). τ → 0 tends to the argmax (one key), τ → ∞ to uniform."),
)
tau = page.temperature_controls()
tv = page.temperature(settings, tau)
st.markdown(
    _(
        "τ = {tau:g}: max |weights − one-hot argmax| = {gap_argmax:.3f}, max |weights − 1/{t}| = {gap_uniform:.3f}. "
        "Entropy H of a row in bits; 2^H is the effective number of keys it attends to (1 = one key, {all} = all "
        "equally): here from {low:.2f} to {high:.2f}."
    ).format(
        tau=tau,
        gap_argmax=tv.gap_to_argmax,
        t=t,
        gap_uniform=tv.gap_to_uniform,
        all=t,
        low=tv.effective_keys.min(),
        high=tv.effective_keys.max(),
    )
)
left, right = st.columns([3, 2])
with left:
    title = _("weights at τ = {tau:g}").format(tau=tau)
    show_figure(heatmap_figure(tv.weights, labels, labels, title=title, **W), "lab_tau_w")
with right:
    bars = bar_chart(
        tv.effective_keys,
        labels,
        title=_("effective keys 2^H per query"),
        value_title=_("keys"),
        label_title=_("query"),
    )
    show_figure(bars, "lab_tau_keys")
    entropy, effective = _("entropy (bits)"), _("effective keys")
    table = {_("query"): list(labels), entropy: tv.entropy_bits, effective: tv.effective_keys}
    number = st.column_config.NumberColumn(format="%.3f")
    st.dataframe(table, hide_index=True, height=200, column_config={entropy: number, effective: number})

step(
    4,
    _("Dropout on the weights"),
    _(
        "Seed 003's `attention(q, k, v, dropout)` applies `dropout(p_attn)`: in train mode each weight is zeroed "
        "with probability p and the rest are multiplied by 1/(1 − p), so a row no longer sums to 1 (only on "
        "average); eval mode leaves the weights alone."
    ),
)
p, seed, train = page.dropout_controls()
dv = page.dropout(settings, p, seed, train)
numbers = {"p": p, "low": dv.row_sums.min(), "high": dv.row_sums.max(), "change": dv.output_change}
if train:
    st.markdown(
        _(
            "Train mode, p = {p:g}: row sums from {low:.3f} to {high:.3f}; the output changes by up to {change:.3f}."
        ).format(**numbers)
    )
else:
    st.markdown(
        _(
            "Eval mode, p = {p:g}: row sums from {low:.3f} to {high:.3f}; the output changes by up to {change:.3f}."
        ).format(**numbers)
    )
left, right = st.columns(2)
top = float(max(dv.weights.max(), dv.dropped.max()))
with left:
    fig = heatmap_figure(dv.weights, labels, labels, title=_("weights before dropout"), zmax=top, **W)
    show_figure(fig, "lab_drop_before")
with right:
    fig = heatmap_figure(dv.dropped, labels, labels, title=_("after dropout (train: ×1/(1−p))"), zmax=top, **W)
    show_figure(fig, "lab_drop_after")

step(
    5,
    _("Masks and fill values"),
    _(
        "A mask says which keys each query may see. Exact masking gives a masked key weight 0; the tutorials "
        "instead write a big negative number into the scores (`masked_fill`) before the softmax, which differs "
        "when a row has no visible key at all, and breaks when the number is 0."
    ),
)
spec, fill, problems = page.mask_controls(labels)
refused = show_problems(problems, kept=KEPT)
mv = last_good("lab_mask_last_good", None if refused else lambda: page.masks(settings, spec, fill))
if mv is not None and mv.labels == labels:
    st.markdown(fill_value_story(mv))
    cols = st.columns(3)
    figs = (
        heatmap_figure(
            mv.mask,
            labels,
            labels,
            title=_("mask (1 = may attend)"),
            kind="weights",
            value_title=_("may attend"),
            **small,
        ),
        heatmap_figure(mv.masked, labels, labels, title=_("softmax input (masked)"), zmax=mv.zmax, **small),
        heatmap_figure(mv.weights, labels, labels, title=_("masked weights"), **W, **small),
    )
    for column, fig, name in zip(cols, figs, ("mask", "input", "weights"), strict=True):
        with column:
            show_figure(fig, f"lab_mask_{name}")

step(
    6,
    _("The tutorial's SelfAttention bug"),
    _(
        "Seed 003's `SelfAttention` computes `k = self.q_linear(x)` and `v = self.q_linear(x)`: K = V = Q. The "
        "scores become Q·Qᵀ, symmetric, and each token's own score q·q is its squared length, so tokens tend to "
        "attend to themselves. The fixed version uses `k_linear` and `v_linear` (same W_k, W_v as above)."
    ),
)
bv = page.bug(settings)
show_bug = st.toggle(_("Show the version as written in the tutorial next to the fixed one"), key="lab_bug")
st.markdown(
    _(
        "As written: max |S − Sᵀ| = {asymmetry_buggy:.2g}, {share_buggy:.0%} of the tokens attend most to "
        "themselves. Fixed: max |S − Sᵀ| = {asymmetry_fixed:.3f}, {share_fixed:.0%}."
    ).format(
        asymmetry_buggy=bv.asymmetry_buggy,
        share_buggy=bv.self_share_buggy,
        asymmetry_fixed=bv.asymmetry_fixed,
        share_fixed=bv.self_share_fixed,
    )
)
# (key, title prefix, scores, weights): the keys stay the same in every language
versions = [("as written", _("as written (K = V = Q)"), bv.buggy_scores, bv.buggy_weights)] if show_bug else []
versions.append(("fixed", _("fixed"), bv.fixed_scores, bv.fixed_weights))
for column, (key, name, scores, weights) in zip(st.columns(len(versions)), versions, strict=True):
    with column:
        title = _("{name}: scaled scores").format(name=name)
        show_figure(heatmap_figure(scores, labels, labels, title=title, max_ticks=16), f"lab_bug_s_{key}")
        title = _("{name}: weights").format(name=name)
        show_figure(heatmap_figure(weights, labels, labels, title=title, **W, max_ticks=16), f"lab_bug_w_{key}")

share.panel(page.SHARE, **page.shared_state(lab, sc, settings))

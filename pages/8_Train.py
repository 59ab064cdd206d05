"""Train it live: a tiny transformer learns a toy task while its attention patterns form."""

import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.training.jobs import shown_message
from attnviz.training.tasks import TASKS
from attnviz.training.train import TrainingRun
from attnviz.training.views import curve_view
from attnviz.training_figures import curves_figure
from attnviz.ui import share
from attnviz.ui import train as page
from attnviz.ui.cache import figure
from attnviz.ui.render import KEPT, page_nav, show_figure, show_problems, step

st.set_page_config(page_title=_("Train · attnviz"), page_icon="🔎", layout="wide")
page_nav()

st.title(_("Train it live"))
st.markdown(
    _(
        "Every other page shows attention with random or hand-set weights. Here a tiny transformer (token "
        "embeddings + sinusoidal positions, a stack of encoder layers, one prediction per position) **learns** a toy "
        "task while you watch: at first every head spreads its attention evenly; as the loss falls, the heads find "
        "the positions that hold the answer."
    )
)
share.restore(page.SHARE, apply=page.apply_shared)
with st.sidebar:
    settings = page.controls()
share.publish(page.SHARE, defaults=page.share_defaults())  # the settings in the address, also while training
show_problems(settings.problems, kept=N_("training needs valid settings"))
task = TASKS[settings.config.task if settings.config else st.session_state.train_task]
st.markdown(
    _("**{title}.** {description}  \n**What to look for:** {look_for}").format(
        title=_(task.title), description=_(task.description), look_for=_(task.look_for)
    )
)

run = page.current_run()  # a job that ended hands its run over here (and says how it ended)
job = page.current_job()
running = job is not None and not job.finished
with st.container(horizontal=True):
    st.button(
        _("Train"),
        type="primary",
        key="train_act_start",
        on_click=page.start,
        args=(settings.config,),
        disabled=settings.config is None,
    )
    st.button(_("Stop"), key="train_act_stop", on_click=page.stop, disabled=not running)
page.message()

if running:
    step(
        1,
        _("Training"),
        _(
            "Loss on each training batch, accuracy on held-out sequences, and the attention of every "
            "layer × head on one fixed probe input, refreshed a few times a second."
        ),
    )
    page.forget_probe_clicks()
    page.live_panel(job)
    st.stop()

if run is None:
    page.forget_probe_clicks()
    st.info(
        _("Press **Train** to start (the defaults learn to reverse 8 tokens in a few seconds), or load a saved run.")
    )
    if settings.config is not None:
        step(
            1,
            _("Before training"),
            _(
                "The freshly initialised model (this seed) on the probe input: no head has a "
                "reason yet to look anywhere in particular."
            ),
        )
        show_figure(
            page.grid_figure_of(page.untrained_grid(settings.config), _("Attention on the probe before training")),
            key="train_fig_untrained",
        )
    page.load_panel()
    page.share_panel(settings.config, None)
    st.stop()

c = run.config
if run.stopped:
    ended = _("stopped after {done} of {steps} steps ({reason})").format(
        done=run.steps_done, steps=c.steps, reason=shown_message(run.stopped, (page.STOP_BUTTON,))
    )
else:
    ended = _("{done} steps").format(done=run.steps_done)
step(
    1,
    _("Trained"),
    _(
        "{task}: {ended} in {seconds:.1f} s; held-out token accuracy **{accuracy:.1%}**. Model: {layers} layers × "
        "{heads} heads, d_model {d_model}, T = {t}, vocabulary {vocab}, lr {lr:g}, seed {seed}."
    ).format(
        task=_(TASKS[c.task].title),
        ended=ended,
        seconds=run.seconds,
        accuracy=run.final_accuracy,
        layers=c.num_layers,
        heads=c.num_heads,
        d_model=c.d_model,
        t=c.seq_len,
        vocab=c.vocab,
        lr=c.lr,
        seed=c.seed,
    ),
)
curves = curve_view(run.losses, run.eval_steps, run.accuracies)
show_figure(
    figure(curves_figure, curves.loss_steps, curves.losses, curves.eval_steps, curves.accuracies, total_steps=c.steps),
    key="train_fig_curves",
)

step(
    2,
    _("Replay: how the pattern formed"),
    _(
        "Slide through the snapshots taken during training: the attention of "
        "every layer × head on the probe input (rows: queries, columns: keys)."
    ),
)


@st.fragment
def replay(run: TrainingRun) -> None:
    """The step slider and the snapshot it picks: sliding reruns only this, not the curves and tables around it."""
    steps = [s.step for s in run.snapshots]
    if st.session_state.get("train_replay") not in steps:
        st.session_state.train_replay = steps[-1]
    chosen = st.select_slider(_("Step"), steps, key="train_replay")
    show_figure(
        page.grid_figure(run, steps.index(chosen), _("Attention on the probe after step {step}").format(step=chosen)),
        key="train_fig_replay",
    )


replay(run)

step(
    3,
    _("Try your own input"),
    _(
        "Edit the probe: the trained model answers every position, and the attention "
        "that produced the answer is drawn below."
    ),
)
probe, note = page.probe(run, f"{id(run)}")
if probe is None:
    show_problems([note], kept=KEPT)
else:
    if note:
        st.warning(note)
    right, scored = probe.score
    st.markdown(_("The model gets **{right} of {scored}** positions right.").format(right=right, scored=scored))
    st.dataframe(page.probe_table(probe), hide_index=False)
    fig = page.probe_grid(probe, _("Attention on your input"))
    page.explain_probe(run, f"{id(run)}", page.example_tokens(run), probe, fig)

step(
    4,
    _("Each head over training"),
    _(
        "On the probe: how much of each head's attention sits on the position that holds the answer, how spread out "
        "its rows are (entropy, 0 bits = one key), and how far it looks (mean |i − j|)."
    ),
)
for i, fig in enumerate(page.history_figures(page.history(run))):
    show_figure(fig, key=f"train_fig_history_{i}")

step(
    5,
    _("Save or load"),
    _("A run is two files: the weights as safetensors (no pickle) and the settings and curves as JSON."),
)
page.save_buttons(run)
page.load_panel()
page.share_panel(settings.config, run)

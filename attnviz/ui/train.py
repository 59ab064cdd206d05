"""The Train page's settings, its training job (started, watched live, stopped) and the trained run's panels."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from torch import Tensor

from attnviz import i18n
from attnviz.cells import CellExplanation, cell_at, explain_head
from attnviz.encoder import EncoderLayerTrace
from attnviz.figures import heatmap_grid
from attnviz.i18n import N_, pgettext
from attnviz.i18n import gettext as _
from attnviz.sharing import Choice, Decoded, Int, NumberChoice, StateSpec
from attnviz.snippets import train_snippet
from attnviz.training.io import MAX_FILE_BYTES, run_from_bytes, run_to_bytes
from attnviz.training.jobs import JobRunner, Progress, TrainingJob, shared_runner, shown_message
from attnviz.training.tasks import TASKS
from attnviz.training.train import LIMITS, Snapshot, TrainConfig, TrainingRun
from attnviz.training.views import (
    GridView,
    HistoryView,
    ProbeView,
    curve_view,
    grid_view,
    history_view,
    parse_probe,
    probe_text,
    probe_view,
    token_labels,
)
from attnviz.training_figures import curves_figure, head_series_figure
from attnviz.ui import share
from attnviz.ui.cache import figure
from attnviz.ui.cells import CLICK_HINT, new_click, show_cell
from attnviz.ui.render import escape_markdown, show_figure
from attnviz.ui.state import set_defaults

__all__ = [
    "DEFAULTS",
    "REFRESH_SECONDS",
    "SHARE",
    "STOP_BUTTON",
    "Settings",
    "apply_shared",
    "apply_upload",
    "controls",
    "current_job",
    "current_run",
    "example_tokens",
    "explain_probe",
    "forget_probe_clicks",
    "grid_figure",
    "grid_figure_of",
    "history",
    "live_panel",
    "load_panel",
    "probe",
    "probe_cell",
    "probe_grid",
    "runner",
    "save_buttons",
    "share_defaults",
    "share_panel",
    "shared_state",
    "untrained_grid",
]

REFRESH_SECONDS = 0.5
"""How often the live panel redraws while a job trains (a fragment rerun, not the page)."""
D_MODELS = (8, 16, 32, 64, 128)
HEADS = (1, 2, 4, 8)
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
DEFAULTS = {
    "train_task": "reverse",
    "train_seq_len": TASKS["reverse"].default_seq_len,
    "train_vocab": TASKS["reverse"].default_vocab,
    "train_d_model": 32,
    "train_heads": 2,
    "train_layers": 2,
    "train_steps": TASKS["reverse"].default_steps,
    "train_lr": 3e-3,
    "train_seed": 0,
}
_SIZES = {  # session key -> (the task's default, its range)
    "train_seq_len": ("default_seq_len", "seq_len_range"),
    "train_vocab": ("default_vocab", "vocab_range"),
}
# The settings in the address. Sequence length, vocabulary and steps are checked here against the widest task's
# range and again, in apply_shared, against the chosen task's (and the server's step cap).
SHARE = StateSpec(
    "train",
    (
        Choice("train_task", DEFAULTS["train_task"], options=tuple(TASKS)),
        Int(
            "train_seq_len",
            DEFAULTS["train_seq_len"],
            low=min(t.seq_len_range[0] for t in TASKS.values()),
            high=max(t.seq_len_range[1] for t in TASKS.values()),
        ),
        Int(
            "train_vocab",
            DEFAULTS["train_vocab"],
            low=min(t.vocab_range[0] for t in TASKS.values()),
            high=max(t.vocab_range[1] for t in TASKS.values()),
        ),
        NumberChoice("train_d_model", DEFAULTS["train_d_model"], options=D_MODELS),
        NumberChoice("train_heads", DEFAULTS["train_heads"], options=HEADS),
        Int("train_layers", DEFAULTS["train_layers"], low=LIMITS["num_layers"][0], high=LIMITS["num_layers"][1]),
        Int("train_steps", DEFAULTS["train_steps"], low=LIMITS["steps"][0], high=LIMITS["steps"][1]),
        NumberChoice("train_lr", DEFAULTS["train_lr"], options=LEARNING_RATES),
        Int("train_seed", DEFAULTS["train_seed"], low=LIMITS["seed"][0], high=LIMITS["seed"][1]),
    ),
)
_JOB, _RUN, _MESSAGE, _PROBE_FOR = "train_job", "train_run", "train_message", "train_probe_for"
_LIVE_GRID = "train_live_grid"
PROBE_FIG = "train_fig_probe"
_PROBE_SEEN, _PROBE_CLICK, _PROBE_TRACES = "train_probe_seen", "train_probe_click", "train_probe_traces"
PROBE_NOTE = N_(
    "Layer {layer}, head {head} of {heads} of the trained model on your input: q, k and v are columns "
    "{start}–{stop} of this layer's X·W_q, X·W_k and X·W_v (d_head = {d_head}, scale 1/√{d_head}), X being what "
    "the layer's attention reads."
)
STOP_BUTTON = N_("stopped with the Stop button")
_BEFORE_UPLOAD, _UPLOAD_REJECTED = "train_share_before", "train_upload_rejected"


@dataclass(frozen=True)
class Settings:
    config: TrainConfig | None  # None when a control is out of range (see problems)
    problems: tuple[str, ...] = ()


def runner() -> JobRunner:
    """The server's one training pool (two trainings at once, each in its own process with one torch thread)."""
    return shared_runner()


def _task_changed() -> None:
    task = TASKS[st.session_state.train_task]
    st.session_state.train_seq_len = task.default_seq_len
    st.session_state.train_vocab = task.default_vocab
    st.session_state.train_steps = task.default_steps


def controls() -> Settings:
    """The sidebar: task, sizes, learning rate, steps and seed."""
    set_defaults(DEFAULTS)
    task_name = st.selectbox(
        _("Task"), list(TASKS), format_func=lambda name: _(TASKS[name].title), key="train_task", on_change=_task_changed
    )
    task = TASKS.get(task_name, TASKS["reverse"])
    fixed = task.fixed_sizes
    help_fixed = _("Set by the task's grammar.") if fixed else None
    seq_len = st.number_input(
        _("Sequence length T"), *task.seq_len_range, step=1, key="train_seq_len", disabled=fixed, help=help_fixed
    )
    vocab = st.number_input(
        _("Vocabulary (tokens 0 … V−1)"), *task.vocab_range, step=1, key="train_vocab", disabled=fixed, help=help_fixed
    )
    st.divider()
    d_model = st.selectbox("d_model", D_MODELS, key="train_d_model")
    heads = st.selectbox(_("Heads per layer"), HEADS, key="train_heads", help=_("Must divide d_model."))
    layers = st.number_input(_("Layers"), *LIMITS["num_layers"], step=1, key="train_layers")
    st.divider()
    cap = runner().max_steps
    steps = st.number_input(
        _("Steps"),
        1,
        cap,
        step=50,
        key="train_steps",
        help=_("Each step trains on a batch of 64 fresh sequences (at most {cap}).").format(cap=cap),
    )
    lr = st.selectbox(_("Learning rate (Adam)"), LEARNING_RATES, key="train_lr", format_func=lambda v: f"{v:g}")
    seed = st.number_input(_("Seed"), *LIMITS["seed"], step=1, key="train_seed", help=_("Same seed, same run."))
    config = TrainConfig(
        task=task.name,
        seq_len=int(seq_len) if not fixed else task.default_seq_len,
        vocab=int(vocab) if not fixed else task.default_vocab,
        d_model=int(d_model),
        num_heads=int(heads),
        num_layers=int(layers),
        steps=int(steps),
        lr=float(lr),
        seed=int(seed),
        snapshot_every=max(1, int(steps) // 40),
    )
    try:
        return Settings(config.resolved())
    except ValueError as error:
        return Settings(None, (str(error),))


def share_defaults() -> dict[str, object]:
    """The defaults that depend on the chosen task (its sizes and steps): the address leaves them out."""
    task = TASKS.get(st.session_state.get("train_task"), TASKS[DEFAULTS["train_task"]])
    return {"train_seq_len": task.default_seq_len, "train_vocab": task.default_vocab, "train_steps": task.default_steps}


def apply_shared(decoded: Decoded, reset: bool) -> None:
    """After :func:`attnviz.ui.share.restore` wrote the address's settings: a task from the address brings its own
    sizes and steps where the address sets none (as choosing it does), and a size or step count the task (or
    this server) does not allow goes back to the task's default, named in ``decoded.problems``."""
    s = st.session_state
    task = TASKS.get(s.get("train_task"), TASKS[DEFAULTS["train_task"]])
    defaults = share_defaults()
    if "train_task" in decoded.settings or reset:
        for key, value in defaults.items():
            if key not in decoded.settings:
                s[key] = value
    for key, (low, high) in _ranges(task).items():
        value = s.get(key, defaults[key])
        if not low <= value <= high:
            decoded.problems.append(
                _("URL parameter {key} ignored: {value} is outside {low} … {high} for the task “{task}”").format(
                    key=repr(key), value=value, low=low, high=high, task=_(task.title)
                )
            )
            s[key] = defaults[key]


def _ranges(task) -> dict[str, tuple[int, int]]:
    """The sizes and step count ``task`` and this server allow, by session key."""
    return {key: getattr(task, spec[1]) for key, spec in _SIZES.items()} | {"train_steps": (1, runner().max_steps)}


def apply_upload(decoded: Decoded, reset: bool) -> None:
    """After the share panel wrote an uploaded JSON's settings: a task from the file brings its own sizes and steps
    where the file sets none; a size or step count the task (or this server) does not allow refuses the whole file,
    each named, and every setting goes back to what it was (:func:`shared_state` shows the problems)."""
    s = st.session_state
    task = TASKS.get(s.get("train_task"), TASKS[DEFAULTS["train_task"]])
    if "train_task" in decoded.settings:
        for key, value in share_defaults().items():
            if key not in decoded.settings:
                s[key] = value
    problems = [
        _("setting {key}: {value} is outside {low} … {high} for the task “{task}”").format(
            key=repr(key), value=s[key], low=low, high=high, task=_(task.title)
        )
        for key, (low, high) in _ranges(task).items()
        if not low <= s[key] <= high
    ]
    if problems:
        for key, value in s.get(_BEFORE_UPLOAD, {}).items():
            s[key] = value
        s[_UPLOAD_REJECTED] = problems


# -- the job ----------------------------------------------------------------------------------------------------------


def current_job() -> TrainingJob | None:
    return st.session_state.get(_JOB)


def current_run() -> TrainingRun | None:
    """The run the page shows after training: the last finished job's, or a loaded one."""
    job = current_job()
    if job is not None and job.finished:
        result, progress = job.result(), job.progress()
        if result is not None:
            st.session_state[_RUN] = result
        if progress.state == "failed":
            st.session_state[_MESSAGE] = (
                "error",
                _("The training failed: {reason}").format(reason=shown_message(progress.message)),
            )
        elif progress.state == "stopped" and result is None:
            st.session_state[_MESSAGE] = (
                "warning",
                _("The training was cancelled before it started ({reason}): nothing was trained.").format(
                    reason=shown_message(progress.message, (STOP_BUTTON,))
                ),
            )
        elif progress.state == "stopped":
            st.session_state[_MESSAGE] = (
                "warning",
                _("The training ended early ({reason}); what it learned is kept below.").format(
                    reason=shown_message(progress.message, (STOP_BUTTON,))
                ),
            )
        st.session_state[_JOB] = None
    return st.session_state.get(_RUN)


def start(config: TrainConfig | None) -> None:
    """The Train button: queue a job, unless one is already training for this learner."""
    job = current_job()
    if config is None:
        st.session_state[_MESSAGE] = ("error", _("Fix the settings first (see the message above)."))
    elif job is not None and not job.finished:
        st.session_state[_MESSAGE] = (
            "warning",
            _("A training is already running: press Stop first, or wait for it."),
        )
    else:
        try:
            st.session_state[_JOB] = runner().submit(config)
            st.session_state[_MESSAGE] = None
        except ValueError as error:
            st.session_state[_MESSAGE] = ("error", str(error))


def stop() -> None:
    """The Stop button: end the job after its current step; what it learned is kept."""
    job = current_job()
    if job is not None:
        job.cancel(STOP_BUTTON)


def message() -> None:
    kind_text = st.session_state.get(_MESSAGE)
    if kind_text:
        kind, text = kind_text
        (st.error if kind == "error" else st.warning)(escape_markdown(text), icon="⚠️")


def _progress_text(p: Progress, runner_: JobRunner) -> str:
    if p.state == "queued":
        return _(
            "Waiting for a free slot ({position} in line): this server trains at most {running} models at once."
        ).format(position=p.queue_position, running=runner_.max_running)
    if p.state == "starting" or (p.state == "running" and p.step == 0):
        return _("Starting the training process…")
    if p.seconds_left is None:
        return _("Step {step} of {steps} · {rate:.0f} steps/s").format(
            step=p.step, steps=p.steps, rate=p.steps_per_second
        )
    return _("Step {step} of {steps} · {rate:.0f} steps/s, about {left:.0f} s left").format(
        step=p.step, steps=p.steps, rate=p.steps_per_second, left=p.seconds_left
    )


def live_panel(job: TrainingJob) -> None:
    """Progress bar, curves and every layer × head's current attention, redrawn every REFRESH_SECONDS while the
    job trains (a fragment: only this panel reruns). When the job ends, the whole page reruns once."""

    @st.fragment(run_every=REFRESH_SECONDS)
    def panel() -> None:
        p = job.progress()
        if p.finished:
            st.rerun()
        st.progress(min(1.0, p.step / max(1, p.steps)), text=_progress_text(p, runner()))
        curves = curve_view(p.losses, p.eval_steps, p.accuracies)
        show_figure(
            curves_figure(curves.loss_steps, curves.losses, curves.eval_steps, curves.accuracies, total_steps=p.steps),
            key="train_fig_live_curves",
        )
        if p.snapshot is not None:
            # The grid changes only with a new snapshot: keep this tab's last one instead of rebuilding it.
            kept = st.session_state.get(_LIVE_GRID)
            shown = (job.id, p.snapshot.step, i18n.language())
            if kept is None or kept[0] != shown:
                config = job.config
                probe = TASKS[config.task].probe(config.seq_len, config.vocab)
                view = grid_view(p.snapshot, config, probe)
                kept = (shown, _grid(view, _("Attention on the probe now (step {step})").format(step=view.step)))
                st.session_state[_LIVE_GRID] = kept
            show_figure(kept[1], key="train_fig_live_grid")

    panel()


# -- after training ---------------------------------------------------------------------------------------------------


def _grid(view: GridView, title: str):
    return heatmap_grid(
        view.stack, view.labels, view.labels, panel_titles=view.titles, title=title, max_cols=view.num_heads
    )


def untrained_grid(config: TrainConfig) -> GridView:
    """Every layer × head of the freshly initialised model (this config's seed) on the task's probe."""
    return _untrained_grid(config, i18n.language())


@st.cache_data(max_entries=16, show_spinner=False)
def _untrained_grid(config: TrainConfig, lang: str) -> GridView:  # the panel titles are in ``lang``
    model = config.build_model()
    probe = TASKS[config.task].probe(config.seq_len, config.vocab)
    with torch.no_grad():
        weights = model.run(probe.unsqueeze(0))[1][0]  # (L, H, T, T)
    return grid_view(Snapshot(0, weights), config, probe)


def grid_figure(run: TrainingRun, index: int, title: str):
    """The replay figure of snapshot ``index`` (cached: a snapshot never changes)."""
    return grid_figure_of(grid_view(run.snapshots[index], run.config, run.probe), title)


def grid_figure_of(view: GridView, title: str):
    """Every layer × head of ``view`` as one grid, a row per layer (cached by the exact weights)."""
    return figure(
        heatmap_grid,
        np.ascontiguousarray(view.stack),
        tuple(view.labels),
        tuple(view.labels),
        panel_titles=tuple(view.titles),
        title=title,
        max_cols=view.num_heads,
    )


def probe(run: TrainingRun, run_id: str) -> tuple[ProbeView | None, str]:
    """The editable probe: its text box (reset to the run's probe when the run changes) and the model's answer."""
    if st.session_state.get(_PROBE_FOR) != run_id:
        st.session_state[_PROBE_FOR] = run_id
        st.session_state.train_probe = probe_text(run.config, run.probe)
    if run.config.task == "it":
        label = _("Your sentence ({n} words)").format(n=run.config.seq_len)
    else:
        label = _("Your sequence ({n} numbers)").format(n=run.config.seq_len)
    text = st.text_input(label, key="train_probe")
    tokens, note = parse_probe(text, run.config)
    if tokens is None:
        return None, note
    return probe_view(run, tokens), note


def forget_probe_clicks() -> None:
    """Take any point kept on the probe grid as seen (no run shows it now), so it never explains a later run."""
    new_click((PROBE_FIG,), _PROBE_SEEN)
    st.session_state.pop(_PROBE_CLICK, None)


def probe_grid(view: ProbeView, title: str) -> go.Figure:
    """The trained model's attention on the learner's probe, clickable: a click on a cell of panel (layer, head)
    writes out that weight's softmax under the figure."""
    fig = grid_figure_of(view.grid, title)
    st.caption(_(CLICK_HINT))
    show_figure(fig, key=PROBE_FIG, on_select=True)
    return fig


def explain_probe(run: TrainingRun, run_id: str, tokens: Tensor, view: ProbeView, fig: go.Figure) -> None:
    """Under the probe grid: the clicked weight's arithmetic, from the trained model's own trace on ``tokens``.

    A click is kept with the run and the probe it was made on; once either changes it explains nothing.
    """
    context = (run_id, tuple(tokens.tolist()))
    found = new_click((PROBE_FIG,), _PROBE_SEEN)
    if found is not None:
        st.session_state[_PROBE_CLICK] = (context, found[1])
    kept = st.session_state.get(_PROBE_CLICK)
    if kept is None or kept[0] != context:
        return
    cell = probe_cell(run, run_id, tokens, view.grid, fig, kept[1])
    if cell is not None:
        show_cell(cell)


def probe_cell(
    run: TrainingRun, run_id: str, tokens: Tensor, grid: GridView, fig: go.Figure, point: dict | None
) -> CellExplanation | None:
    """The weight clicked at ``point`` on ``fig`` (the grid of ``grid``) as :func:`attnviz.cells.explain_cell`
    writes it, or None when the point is not a cell of this grid.

    The clicked curve is a trace of ``fig``; its panel title (the trace's name) says which panel of the stack
    it draws, and the panel's place in the stack which layer and head (the grid is laid out layer by layer).
    """
    cell = cell_at(point, grid.labels, grid.labels)
    if cell is None or not 0 <= cell[2] < len(fig.data):
        return None
    row, col, curve = cell
    name = fig.data[curve].name
    if name not in grid.titles:
        return None
    panel = grid.titles.index(name)
    layer, head = divmod(panel, grid.num_heads)
    attention = _probe_traces(run, run_id, tokens)[layer].attention
    # the heatmap's own numbers are drawn: the explanation prints what its hover prints
    explained = explain_head(attention, "weights", head, row, col, labels=grid.labels, drawn=grid.stack[panel])
    d_head = run.config.d_model // grid.num_heads
    note = _(PROBE_NOTE).format(
        layer=layer + 1,
        head=head + 1,
        heads=grid.num_heads,
        start=head * d_head,
        stop=(head + 1) * d_head - 1,
        d_head=d_head,
    )
    return dataclasses.replace(explained, note=note)


def _probe_traces(run: TrainingRun, run_id: str, tokens: Tensor) -> list[EncoderLayerTrace]:
    """The trained model's per-layer traces on ``tokens`` (one forward pass, kept for this run and probe)."""
    key = (run_id, tuple(tokens.tolist()))
    kept = st.session_state.get(_PROBE_TRACES)
    if kept is None or kept[0] != key:
        with torch.no_grad():
            traces = run.model.traces(tokens.unsqueeze(0))[1]
        kept = st.session_state[_PROBE_TRACES] = (key, traces)
    return kept[1]


def probe_table(view: ProbeView) -> dict[str, list[str]]:
    marks = {True: "✓", False: "✗", None: ""}
    return {
        _("input"): view.inputs,
        _("model says"): view.outputs,
        _("right answer"): [e or "—" for e in view.expected],
        _("right?"): [marks[c] for c in view.correct],
    }


def history(run: TrainingRun) -> HistoryView:
    return history_view(run)


def history_figures(view: HistoryView) -> list:
    return [
        head_series_figure(
            view.steps,
            view.answer,
            title=_("Share of attention on the answer's position"),
            y_title=_("share"),
            y_range=(0, 1),
        ),
        head_series_figure(view.steps, view.entropy, title=_("Entropy of each head's rows"), y_title=_("bits")),
        head_series_figure(
            view.steps,
            view.distance,
            title=_("Mean distance attended |i − j|"),
            y_title=pgettext("distance", "positions"),
        ),
    ]


def save_buttons(run: TrainingRun) -> None:
    weights, meta = run_to_bytes(run)
    name = f"attnviz-{run.config.task}-seed{run.config.seed}"
    with st.container(horizontal=True):
        st.download_button(_("Download weights (.safetensors)"), weights, f"{name}.safetensors", key="train_act_save_w")
        st.download_button(_("Download curves and settings (.json)"), meta, f"{name}.json", key="train_act_save_j")


def load_files(files: list[tuple[str, bytes]]) -> TrainingRun:
    """A run from the two uploaded files (any order); ValueError naming what is wrong."""
    by_kind = {".safetensors": [], ".json": []}
    for name, data in files:
        for suffix in by_kind:
            if name.lower().endswith(suffix):
                by_kind[suffix].append(data)
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(
                _("{name} is {size:.1f} MB; the limit is {limit:.0f} MB").format(
                    name=name, size=len(data) / 1e6, limit=MAX_FILE_BYTES / 1e6
                )
            )
    if len(by_kind[".safetensors"]) != 1 or len(by_kind[".json"]) != 1:
        raise ValueError(_("choose exactly two files: one .safetensors (the weights) and one .json (the settings)"))
    return run_from_bytes(by_kind[".safetensors"][0], by_kind[".json"][0])


def load_panel() -> None:
    """Upload a saved run (both files at once); a bad file is named and the current run stays."""
    files = st.file_uploader(
        _("Load a saved run: its .safetensors and .json together"),
        type=["safetensors", "json"],
        accept_multiple_files=True,
        key="train_act_upload",
    )
    if not files:
        return
    signature = tuple((f.name, f.size) for f in files)
    if st.session_state.get("train_loaded_files") == signature:
        return
    try:
        run = load_files([(f.name, f.getvalue()) for f in files])
    except ValueError as error:
        st.error(
            escape_markdown(_("Could not load the run: {error}. The current run stays.").format(error=error)),
            icon="⚠️",
        )
        return
    st.session_state["train_loaded_files"] = signature
    st.session_state[_RUN] = run
    st.session_state[_JOB] = None
    st.rerun()


# -- share, export, import --------------------------------------------------------------------------------------------


def example_tokens(run: TrainingRun) -> Tensor:
    """The input the page shows the trained model on: the learner's probe when it reads, else the run's probe."""
    tokens = parse_probe(st.session_state.get("train_probe", ""), run.config)[0]
    return run.probe if tokens is None else tokens


def _shortest(a: np.ndarray) -> np.ndarray:
    """float32 values as the float64 of their shortest decimals: the same float32 when read back, and a JSON export
    of the largest model (4 layers × 8 heads × 32 × 32 weights, 5,000 losses) still under the upload cap."""
    flat = np.asarray(a, dtype=np.float32).ravel()
    return np.array([float(str(v)) for v in flat], dtype=np.float64).reshape(np.shape(a))


def shared_state(config: TrainConfig | None, run: TrainingRun | None) -> dict[str, object]:
    """The keyword arguments of :func:`attnviz.ui.share.panel`: the attention ``weights`` of every layer × head on
    the example (one CSV per head; the JSON holds them as ``(L, H, T, T)`` with the example's token ids), the
    ``losses`` and ``accuracies`` curves (named as :class:`TrainingRun`'s fields), and "copy as code" training the
    same model from scratch. Before training: the seeded, untrained model's weights on the probe, and code that
    trains the sidebar's settings."""
    s = st.session_state
    s[_BEFORE_UPLOAD] = {f.key: s[f.key] for f in SHARE.fields if f.key in s}
    rejected = s.pop(_UPLOAD_REJECTED, None)
    if rejected:  # the share panel said "loaded"; apply_upload refused the file and put every setting back
        s[f"share_{SHARE.page}_upload_result"] = (False, rejected)
    base = {"defaults": share_defaults(), "apply": apply_upload}
    if run is not None:
        c, tokens, steps = run.config, example_tokens(run), run.steps_done
        weights = run.predict(tokens.unsqueeze(0))[1][0]  # (L, H, T, T)
    elif config is not None:
        c, tokens, steps = config, TASKS[config.task].probe(config.seq_len, config.vocab), config.steps
        view = untrained_grid(config)
        weights = torch.as_tensor(view.stack).reshape(c.num_layers, c.num_heads, c.seq_len, c.seq_len)
    else:
        message = "# " + _("Fix the settings first: the code trains the model they describe.")
        return {**base, "matrices": {}, "computed": {}, "code": lambda: message}
    layers, heads, t = weights.shape[:3]
    names = TASKS[c.task].token_names(c.vocab)
    labels = token_labels([names[i] for i in tokens.tolist()])
    w = _shortest(weights.numpy())
    computed: dict[str, object] = {"weights": (w.reshape(layers * heads, t, t), labels, labels)}
    if run is not None:
        losses, accuracies = np.asarray(run.losses)[:, None], np.asarray(run.accuracies)[:, None]
        computed["losses"] = (losses, [str(i) for i in range(1, len(run.losses) + 1)], ["loss"])
        computed["accuracies"] = (accuracies, [str(i) for i in run.eval_steps], ["accuracy"])
    slices = {"weights": [f"layer{layer + 1}_head{head + 1}" for layer in range(layers) for head in range(heads)]}
    json_only = {"weights": (w, labels, labels), "tokens": (tokens.numpy()[None], ["id"], labels)}

    def code() -> str:
        return train_snippet(c, tokens.tolist(), steps=steps)

    return {**base, "matrices": {}, "computed": computed, "code": code, "slices": slices, "json_only": json_only}


def share_panel(config: TrainConfig | None, run: TrainingRun | None) -> None:
    """The "Share, export, import" panel (see :func:`shared_state`); says when the run shown was trained with
    settings other than the sidebar's (the address and the JSON's settings are the sidebar's)."""
    compared = ("task", "seq_len", "vocab", "d_model", "num_heads", "num_layers", "steps", "lr", "seed")
    if run is not None and config is not None and any(getattr(run.config, k) != getattr(config, k) for k in compared):
        st.caption(
            _(
                "The sidebar's settings differ from those of the run shown: the address and the JSON's settings are "
                "the sidebar's; the exported weights, curves and the code are the run's."
            )
        )
    share.panel(SHARE, **shared_state(config, run))

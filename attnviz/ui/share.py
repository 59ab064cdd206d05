"""A page's state in the address bar, as files, and as code (the UI half of :mod:`attnviz.sharing`).

A page opts in with its :class:`attnviz.sharing.StateSpec` and two calls:

- :func:`restore` before its widgets are drawn: when the address holds something the app did not write itself (a
  shared link opened in a fresh browser, a reload, the back button), its settings go into the session state and
  its matrices into the editors; each ignored parameter is named in a warning.
- :func:`panel` after the results: writes the state to the address (only what differs from the defaults) and
  draws the "Share, export, import" expander: CSV and JSON downloads, an upload, and "copy as code".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import streamlit as st

from attnviz import sharing
from attnviz.i18n import gettext as _
from attnviz.i18n import ngettext
from attnviz.sharing import Decoded, StateSpec
from attnviz.ui import lang
from attnviz.ui.matrix_editor import clear_matrix, set_matrix
from attnviz.ui.render import code_span, escape_markdown
from attnviz.ui.state import PAGE_PREFIXES, arrived

__all__ = ["Table", "apply_matrices", "panel", "panel_key", "publish", "restore"]

Table = tuple[np.ndarray, Sequence[str], Sequence[str]]  # matrix, row labels, column labels
Apply = Callable[[Decoded, bool], None]  # (what to apply, whether absent matrices go back to their defaults)

_LAST = "_share_last_written"  # the query parameters the app last wrote (any page)


def _current() -> dict[str, list[str]]:
    """The address's parameters that belong to pages (not the app's own, such as the language)."""
    return {key: st.query_params.get_all(key) for key in st.query_params if key not in sharing.GLOBAL_PARAMS}


def _flat(params: Mapping[str, Sequence[str]]) -> dict[str, str]:
    return {key: values[-1] if values else "" for key, values in params.items()}


def apply_matrices(spec: StateSpec) -> Apply:
    """The default way to apply matrices: each into the editor of the same key (absent ones back to the page's
    default when ``reset``)."""

    def apply(decoded: Decoded, reset: bool) -> None:
        for m in spec.matrices:
            if m.key in decoded.matrices:
                set_matrix(m.key, decoded.matrices[m.key])
            elif reset:
                clear_matrix(m.key)

    return apply


def restore(spec: StateSpec, *, apply: Apply | None = None) -> list[str]:
    """Put the address's state into the page (call before any of its widgets); return the problems shown.

    Nothing happens when the address holds what the app wrote last (a rerun), or when it is empty on arrival from
    another page (Streamlit's page links drop the address's parameters; the page's own state is kept and written
    back). A new session applies only what the address holds; the back button (the address changed under a
    running session) also puts every setting it does not hold back to its default.
    """
    params = _current()
    last = st.session_state.get(_LAST)
    if _flat(params) == last or (arrived() and last is not None and not params):
        return []
    full = last is not None
    decoded = sharing.decode_query(spec, params, other_pages=PAGE_PREFIXES)
    values = {**(spec.defaults if full else {}), **decoded.settings}
    for key, value in values.items():
        st.session_state[key] = value
    (apply or apply_matrices(spec))(decoded, full)
    st.session_state[_LAST] = _flat(params)
    if decoded.problems:
        lines = "\n".join(f"- {_problem_markdown(problem)}" for problem in decoded.problems)
        st.warning(
            _("Part of the address could not be used; the page's defaults stand in for it:\n{lines}").format(
                lines=lines
            ),
            icon=":material/link_off:",
        )
    return decoded.problems


def publish(
    spec: StateSpec,
    matrices: Mapping[str, np.ndarray] | None = None,
    *,
    default_matrices: Mapping[str, np.ndarray] | None = None,
    defaults: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """Write the page's state (its fields' session values, ``matrices``) to the address; return the parameters."""
    settings = {f.key: st.session_state[f.key] for f in spec.fields if f.key in st.session_state}
    params = sharing.encode_query(spec, settings, matrices, default_matrices=default_matrices, defaults=defaults)
    if _flat(_current()) != params:
        st.query_params.from_dict({**params, **lang.url_params()})
    st.session_state[_LAST] = params
    return params


def _settings(spec: StateSpec) -> dict[str, Any]:
    return {f.key: st.session_state[f.key] for f in spec.fields if f.key in st.session_state}


def _on_upload(spec: StateSpec, labels: dict[str, tuple[list[str], list[str]]], apply: Apply) -> None:
    """The uploader's callback (runs before the script, so widget values may still be set)."""
    upload = st.session_state.get(f"share_{spec.page}_upload")
    problems_key = f"share_{spec.page}_upload_result"
    if upload is None:
        st.session_state.pop(problems_key, None)
        return
    data = upload.getvalue()
    if upload.name.lower().endswith(".csv"):
        target = st.session_state.get(f"share_{spec.page}_upload_target")
        if target not in labels:
            st.session_state[problems_key] = (
                False,
                [_("choose the table to fill, one of {tables}").format(tables=", ".join(labels))],
            )
            return
        rows, cols = labels[target]
        spec_matrix = spec.matrix(target)
        name = spec_matrix.label if spec_matrix is not None else target
        matrix, problems = sharing.parse_csv(name, data, rows, cols)
        if problems:
            st.session_state[problems_key] = (False, problems)
            return
        apply(Decoded(matrices={target: matrix}), False)
        st.session_state[problems_key] = (
            True,
            [_("{file} was loaded into {table}").format(file=code_span(upload.name), table=escape_markdown(name))],
        )
        return
    decoded = sharing.import_json(spec, data)
    if decoded.problems:
        st.session_state[problems_key] = (False, decoded.problems)
        return
    for key, value in decoded.settings.items():
        st.session_state[key] = value
    apply(decoded, False)
    settings = ngettext("{n} setting", "{n} settings", len(decoded.settings)).format(n=len(decoded.settings))
    matrices = ngettext("{n} matrix", "{n} matrices", len(decoded.matrices)).format(n=len(decoded.matrices))
    st.session_state[problems_key] = (
        True,
        [
            _("{file} was loaded: {settings}, {matrices}").format(
                file=code_span(upload.name), settings=settings, matrices=matrices
            )
        ],
    )


_QUOTED_NAME = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)'")


def _problem_markdown(problem: str) -> str:
    """A problem as markdown: a quoted name (a URL parameter, a setting, a matrix, a row label) as code, the rest
    escaped, so it renders as written and a name is not read as a word of the sentence."""
    parts = _QUOTED_NAME.split(problem)
    return "".join(f"`{part}`" if i % 2 else escape_markdown(part) for i, part in enumerate(parts))


def _setting_problem(problem: str) -> str:
    """``"key: what is wrong"`` with the key as code (a widget key is a name, not a word to translate)."""
    key, sep, rest = problem.partition(": ")
    return f"`{key}`{sep}{escape_markdown(rest)}" if sep else escape_markdown(problem)


def _csv_name(page: str, name: str) -> str:
    return f"attnviz_{page}_{name}.csv"


def panel_key(spec: StateSpec) -> str:
    """The session-state key of ``spec``'s page's "Share, export, import" expander (True while it is open)."""
    return f"share_{spec.page}_open"


def panel(
    spec: StateSpec,
    *,
    matrices: Mapping[str, Table],
    computed: Mapping[str, Table],
    code: Callable[[], str],
    apply: Apply | None = None,
    default_matrices: Mapping[str, np.ndarray] | None = None,
    defaults: Mapping[str, object] | None = None,
    slices: Mapping[str, Sequence[str]] | None = None,
    json_only: Mapping[str, np.ndarray | Table] | None = None,
) -> None:
    """Write the state to the address (:func:`publish`) and draw the "Share, export, import" expander.

    ``matrices``: the editable matrices (key -> table); ``computed``: the intermediates named like the trace
    fields (a 3-D array is one table per head, its first axis: ``weights_h0.csv`` …, or ``weights_<slice>.csv``
    when ``slices`` maps its name to names of that axis's entries); ``code``: the "copy as code" snippet, built only when the
    learner asks for it; ``json_only``: more computed arrays for the JSON export alone (no CSV button each: a deep
    model's every weight).
    """
    publish(
        spec,
        {k: t[0] for k, t in matrices.items()},
        default_matrices=default_matrices,
        defaults=defaults,
    )
    apply = apply or apply_matrices(spec)
    left_out = sharing.unshareable(spec, _settings(spec))
    if left_out:
        st.caption(
            _("Not in the address (it keeps the default there; the JSON export holds it): {problems}").format(
                problems="; ".join(_setting_problem(p) for p in left_out)
            )
        )
    # Built only while open (its key keeps it open across reruns): closed, an edit above it sends none of its
    # download buttons, uploader and toggle, which the browser would otherwise draw again on every rerun.
    expander = st.expander(_("Share, export, import"), icon=":material/share:", key=panel_key(spec), on_change="rerun")
    if not expander.open:
        return
    with expander:
        if spec.matrices:
            share = _(
                "**Share**: the address bar holds this page's settings and edited tables; copy it and anyone who "
                "opens it sees these numbers."
            )
        else:
            share = _(
                "**Share**: the address bar holds this page's settings; copy it and anyone who opens it sees these "
                "numbers."
            )
        export = _(
            "**Export**: each table as CSV, or everything as JSON (settings, tables and every intermediate, named "
            "as in the code)."
        )
        st.markdown(f"{share} {export}")
        names = {m.key: m.label for m in spec.matrices}
        tables: dict[str, Table] = {names.get(k, k): t for k, t in matrices.items()}
        for name, (array, rows, cols) in computed.items():
            if np.ndim(array) == 3:
                parts = list((slices or {}).get(name, [f"h{h}" for h in range(len(array))]))
                tables |= {f"{name}_{part}": (a, rows, cols) for part, a in zip(parts, array, strict=True)}
            else:
                tables[name] = (array, rows, cols)
        snapshot = _settings(spec)
        with st.container(horizontal=True):
            st.download_button(
                _("State (JSON)"),
                data=lambda: sharing.export_json(spec, snapshot, matrices, {**computed, **(json_only or {})}),
                file_name=f"attnviz_{spec.page}.json",
                mime="application/json",
                on_click="ignore",
                icon=":material/download:",
                key=f"share_{spec.page}_dl_json",
            )
            for name, (array, rows, cols) in tables.items():
                st.download_button(
                    f"`{name}.csv`",  # a file name: code in either language
                    data=lambda a=array, r=rows, c=cols: sharing.matrix_csv(a, r, c),
                    file_name=_csv_name(spec.page, name),
                    mime="text/csv",
                    on_click="ignore",
                    key=f"share_{spec.page}_dl_{name}",
                )
        labels = {k: (list(t[1]), list(t[2])) for k, t in matrices.items()}
        if labels:
            st.selectbox(
                _("Table a CSV goes into"),
                list(labels),
                format_func=lambda k: names.get(k, k),
                key=f"share_{spec.page}_upload_target",
            )
        upload_label = (
            _("Import a JSON state or a CSV table (at most {bytes:,} bytes)")
            if labels
            else _("Import a JSON state (at most {bytes:,} bytes)")
        )
        st.file_uploader(
            upload_label.format(bytes=sharing.MAX_FILE_BYTES),
            type=["json", "csv"] if labels else ["json"],
            key=f"share_{spec.page}_upload",
            on_change=_on_upload,
            args=(spec, labels, apply),
        )
        result = st.session_state.get(f"share_{spec.page}_upload_result")
        if result:
            ok, messages = result
            for message in messages:
                if ok:
                    st.success(message)  # built as markdown: the file's name as code
                else:
                    st.error(_("{problem} — nothing was changed.").format(problem=_problem_markdown(message)))
        if st.toggle(
            _("Copy as code"),
            key=f"share_{spec.page}_show_code",
            help=_("Python using only torch, with these numbers."),
        ):
            st.code(code(), language="python")

"""What a page shows in words, and which of those words are still English (the Chinese interface's completeness check).

A word is "English" when it is three or more Latin letters and none of: code (inside backticks), LaTeX (inside
``$…$``), a symbol or name the interface keeps as it is (:data:`KEPT_WORDS`: softmax, PyTorch, CSV, …), or the
learner's own data (the tokens and labels drawn on a figure's axes or in a table's header: a typed English sentence
stays English in the Chinese interface).
"""

from __future__ import annotations

import gettext
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from streamlit.testing.v1 import AppTest

from attnviz import i18n

__all__ = [
    "KEPT_WORDS",
    "MISSING",
    "assert_chinese",
    "data_words",
    "english_left",
    "missing_translations",
    "visible_texts",
]

# Names and symbols shown as they are in either language (lower case).
_KEPT = """
    attnviz softmax pytorch torch numpy plotly streamlit csv json png svg url http https www github
    nn multiheadattention transformerencoder transformerencoderlayer transformer layernorm linear relu gelu
    sdpa scaled_dot_product_attention functional safetensors bert bertviz gpt cnn rgb adam sgd
    exp max sum log sin cos mean std var argmax
    d_model d_k d_v d_in d_head d_ff n_heads num_heads w_q w_k w_v w_o b_q b_k b_v
    qkv ffn mlp rope alibi mse nll fp16 bf16 float32 float64 float16 bfloat16 nan inf
    cpu jpeg jpg gif bmp webp
    """
KEPT_WORDS = frozenset(_KEPT.split())

_CODE = re.compile(r"`[^`]*`")
_LATEX = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.S)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_WORD = re.compile(r"[A-Za-z][A-Za-z_']{2,}")
# Streamlit's markdown directives: colours and badges (`:green-badge[…]`, `:red[…]`) and icons (`:material/check:`)
_DIRECTIVE = re.compile(
    r":(?:red|orange|yellow|green|blue|violet|gray|grey|rainbow|primary)(?:-badge|-background)?\[|:material/[a-z0-9_]+:"
)
_TEXT_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success", "toast")
_WIDGETS = (
    "button",
    "checkbox",
    "toggle",
    "radio",
    "selectbox",
    "multiselect",
    "select_slider",
    "slider",
    "number_input",
    "text_input",
    "text_area",
)
# The language switch names each language in its own words, on purpose.
_BILINGUAL_KEYS = frozenset({"lang_switch"})
_PROTO_LABELLED = ("download_button", "file_uploader", "page_link", "form_submit_button", "data_editor")


def _figure_texts(spec: dict) -> Iterator[str]:
    layout = spec.get("layout", {})

    def title(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            text = node.get("text")
            if isinstance(text, str):
                yield text
        elif isinstance(node, str):
            yield node

    yield from title(layout.get("title"))
    for name, value in layout.items():
        if isinstance(value, dict) and (name.startswith(("xaxis", "yaxis", "coloraxis", "scene"))):
            yield from title(value.get("title"))
            yield from title(value.get("colorbar", {}).get("title"))
    for annotation in layout.get("annotations", []):
        if isinstance(annotation.get("text"), str):
            yield annotation["text"]
    for menu in layout.get("updatemenus", []) + layout.get("sliders", []):
        for item in menu.get("buttons", []) + menu.get("steps", []):
            if isinstance(item.get("label"), str):
                yield item["label"]
    for trace in spec.get("data", []):
        for field in ("name", "hovertemplate", "legendgrouptitle"):
            yield from title(trace.get(field))
        yield from title(trace.get("colorbar", {}).get("title"))
        texts = trace.get("texttemplate")
        if isinstance(texts, str):
            yield texts


def _figures(at: AppTest) -> list[dict]:
    """Every figure on the page: Streamlit's plotly charts and the in-place chart component's (drawn under AppTest
    when a test forces it)."""
    found = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    for element in at.get("bidi_component"):
        payload = json.loads(element.proto.bytes.decode()) if getattr(element.proto, "bytes", b"") else {}
        if isinstance(payload, dict) and isinstance(payload.get("figure"), dict):
            found.append(payload["figure"])
    return found


def visible_texts(at: AppTest) -> list[tuple[str, str]]:
    """Every piece of interface text on the page as ``(where, text)``: prose, widget labels, help texts and
    options, expander and tab labels, metrics, and each figure's titles, annotations, legend and hover text."""
    found: list[tuple[str, str]] = []
    for kind in _TEXT_ELEMENTS:
        found += [(kind, e.value) for e in at.get(kind) if isinstance(e.value, str)]
    for kind in _WIDGETS:
        for w in at.get(kind):
            if getattr(w, "key", None) in _BILINGUAL_KEYS:
                continue
            found.append((f"{kind} label", w.label))
            if getattr(w, "help", None):
                found.append((f"{kind} help", w.help))
            if getattr(w, "placeholder", None):
                found.append((f"{kind} placeholder", w.placeholder))
            for option in getattr(w.proto, "options", []) if kind in ("radio", "selectbox", "multiselect") else []:
                found.append((f"{kind} option", str(option)))
    for kind in _PROTO_LABELLED:
        for e in at.get(kind):
            for field in ("label", "help"):
                value = getattr(e.proto, field, "")
                if isinstance(value, str) and value:
                    found.append((f"{kind} {field}", value))
    for e in at.get("expander"):
        found.append(("expander", e.label))
    for tab in at.get("tab"):
        found.append(("tab", tab.label))
    for metric in at.get("metric"):
        found += [("metric", metric.label), ("metric", str(metric.value))]
    for spec in _figures(at):
        found += [("figure", text) for text in _figure_texts(spec)]
    return [(where, text) for where, text in found if text]


def data_words(at: AppTest) -> set[str]:
    """The words of the learner's data on the page: figure axis categories and table headers/indexes."""
    words: set[str] = set()

    def add(values: Iterable[object]) -> None:
        for value in values:
            if isinstance(value, str):
                words.update(w.lower() for w in _WORD.findall(value))

    for spec in _figures(at):
        for trace in spec.get("data", []):
            for axis in ("x", "y", "text", "customdata", "labels"):
                values = trace.get(axis)
                if isinstance(values, list):
                    flat: list[object] = []
                    for v in values:
                        flat.extend(v if isinstance(v, list) else [v])
                    add(flat)
        for name, value in spec.get("layout", {}).items():
            if isinstance(value, dict) and name.startswith(("xaxis", "yaxis")):
                add(value.get("ticktext", []) or [])
                add(value.get("categoryarray", []) or [])
    for kind in ("dataframe", "data_editor", "table"):
        for e in at.get(kind):
            frame = getattr(e, "value", None)
            if frame is not None and hasattr(frame, "columns"):
                add(map(str, frame.columns))
                add(map(str, frame.index))
                add(str(v) for v in frame.to_numpy().ravel() if isinstance(v, str))
    for kind in ("text_input", "text_area"):
        for w in at.get(kind):
            if isinstance(w.value, str):
                add([w.value])
    return words


def english_left(at: AppTest, *, allowed: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    """Each English word left on the page as ``(where, word, the text it is in)``."""
    keep = KEPT_WORDS | data_words(at) | {w.lower() for w in allowed}
    left = []
    for where, text in visible_texts(at):
        plain = _DIRECTIVE.sub(" ", _LINK_TARGET.sub("]", _LATEX.sub(" ", _CODE.sub(" ", text))))
        plain = re.sub(r"<[^>]+>|%\{[^}]*\}|&[a-z]+;", " ", plain)  # HTML tags, plotly's %{z} fields, entities
        plain = re.sub(r"\\(.)", r"\1", plain)  # markdown escapes: an escaped "d\_model" reads d_model
        for word in _WORD.findall(plain):
            if word.lower().strip("_'") not in keep:
                left.append((where, word, text))
    return left


class _Recorder(gettext.NullTranslations):
    """The Chinese catalog's gettext fallback while tests run: every message looked up without a translation (from
    any thread: AppTest runs the page in its own) lands in :data:`MISSING` and in each open
    :func:`missing_translations` set."""

    def __init__(self) -> None:
        super().__init__()
        self.sinks: list[set[str]] = []

    def _add(self, message: str) -> None:
        MISSING.add(message)
        for sink in self.sinks:
            sink.add(message)

    def gettext(self, message: str) -> str:
        self._add(message)
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        self._add(singular)
        return singular if n == 1 else plural

    def pgettext(self, context: str, message: str) -> str:
        self._add(f"{context}|{message}")
        return message


MISSING: set[str] = set()  # every lookup without a translation since a test last cleared it
_RECORDER = _Recorder()
i18n._translations("zh").add_fallback(_RECORDER)


@contextmanager
def missing_translations() -> Iterator[set[str]]:
    """The messages looked up in Chinese without a translation inside the block."""
    found: set[str] = set()
    _RECORDER.sinks.append(found)
    try:
        yield found
    finally:
        _RECORDER.sinks.remove(found)


def assert_chinese(at: AppTest, missing: set[str] | None = None) -> None:
    """No exception, no English word left on the page and no message looked up without a translation (in
    ``missing``, by default :data:`MISSING` since the test cleared it)."""
    assert not at.exception, at.exception
    left = english_left(at)
    assert left == [], "\n".join(f"{where}: {word!r} in {text[:120]!r}" for where, word, text in left)
    found = MISSING if missing is None else missing
    assert not found, sorted(found)

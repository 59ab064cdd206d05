"""A page's state as a URL, a JSON file and CSV tables: encoded compactly, decoded defensively.

A page declares its state once, as a :class:`StateSpec`: its settings (each a :class:`Field`: the session key, the
kind of value and what is allowed) and its editable matrices (each a :class:`MatrixField` whose shape is given by
settings). Everything here is pure (no streamlit); ``attnviz.ui.share`` connects it to a page.

**URL encoding.** A parameter is named by the session key (``worked_t=5``, ``tokens_text=…``) and holds:

- an int or float as its shortest decimal text (``repr``), a number from a list (:class:`NumberChoice`, a select
  slider's stops) the same way, a bool as ``1``/``0``, a text as itself, a choice as the
  short code of its option (``worked_variant=learned``), a list of ints comma-separated (``pe_dims=0,1,6``);
- a matrix as ``<rows>x<cols>.<f4|f8>.<base64url>``: the row-major little-endian float32 (``f4``, used when every
  value is exactly a float32) or float64 (``f8``) bytes, base64url without padding. A 3×4 float32 matrix is
  ``3x4.f4.`` and 64 characters.

Only what differs from the page's defaults is written, so the default page has a bare URL.

**Caps** (a hostile URL is refused part by part, never as a whole): a parameter's value at most
:data:`MAX_PARAM_CHARS` characters, the query at most :data:`MAX_QUERY_CHARS` characters over at most
:data:`MAX_PARAMS` parameters, a matrix within the editor's limits (its shape settings' ranges). Every problem
(unknown key, wrong type, out of range, NaN/inf, a shape that does not fit, truncated bytes, bad base64, a
100 kB value) is named in ``Decoded.problems``, and that part keeps its default.

**JSON** (:func:`export_json`, :func:`import_json`): ``{"format": "attnviz-state", "version": 1, "page": …,
"settings": {key: value}, "matrices": {key: table}, "computed": {name: table}}``, a table being ``{"rows": [labels],
"cols": [labels], "values": [[…]]}``; ``computed`` holds the intermediates named like the trace fields (``scores``,
``weights``, ``output``, …) and is not read back. An import is all or nothing: any problem refuses the whole file.

**CSV** (:func:`matrix_csv`, :func:`parse_csv`): a header of an empty cell and the column labels shown, then one
row per matrix row led by its label.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from attnviz import i18n
from attnviz.i18n import gettext as _

__all__ = [
    "FORMAT",
    "GLOBAL_PARAMS",
    "MAX_FILE_BYTES",
    "MAX_PARAMS",
    "MAX_PARAM_CHARS",
    "MAX_QUERY_CHARS",
    "Bool",
    "Choice",
    "Decoded",
    "Field",
    "Float",
    "Int",
    "IntList",
    "MatrixField",
    "NumberChoice",
    "StateSpec",
    "Text",
    "decode_matrix",
    "decode_query",
    "encode_matrix",
    "encode_query",
    "export_json",
    "import_json",
    "label_aliases",
    "matrix_csv",
    "parse_csv",
    "unshareable",
]

FORMAT = "attnviz-state"
VERSION = 1
MAX_PARAM_CHARS = 8192  # one parameter's value (a 512-token text fits; a 100 kB value does not)
MAX_QUERY_CHARS = 32768  # all values together
MAX_PARAMS = 64
# The app's own parameters, the same on every page (the interface language): no page's state, never named as unknown.
GLOBAL_PARAMS = ("lang",)
MAX_FILE_BYTES = 1_000_000  # an uploaded JSON or CSV
_MATRIX = re.compile(r"(\d{1,4})x(\d{1,4})\.(f4|f8)\.([A-Za-z0-9_-]*)")


# ------------------------------------------------------------------------------------------------ field kinds


@dataclass(frozen=True)
class Field:
    """One setting: its session key and default. Subclasses say what values are allowed and how they are written."""

    key: str
    default: object

    def parse(self, text: str) -> object:
        """The value a URL parameter stands for; ``ValueError`` naming what is wrong."""
        raise NotImplementedError

    def check(self, value: object) -> object:
        """A JSON (or session) value checked and normalised; ``ValueError`` naming what is wrong."""
        raise NotImplementedError

    def text(self, value: object) -> str:
        """The URL text of ``value`` (a checked value)."""
        return str(value)


def _whole(value: object) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value != int(value)
    ):
        raise ValueError(_("{value} is not a whole number").format(value=repr(value)))
    return int(value)


@dataclass(frozen=True)
class Int(Field):
    low: int = 0
    high: int = 2**31 - 1
    optional: bool = False  # None (an empty parameter) is allowed

    def parse(self, text: str) -> object:
        if self.optional and text == "":
            return None
        if not re.fullmatch(r"-?\d{1,12}", text):
            raise ValueError(_("{value} is not a whole number").format(value=_short(text)))
        return self.check(int(text))

    def check(self, value: object) -> object:
        if value is None and self.optional:
            return None
        number = _whole(value)
        if not self.low <= number <= self.high:
            raise ValueError(_("{value} is outside {low} … {high}").format(value=number, low=self.low, high=self.high))
        return number

    def text(self, value: object) -> str:
        return "" if value is None else str(value)


@dataclass(frozen=True)
class Float(Field):
    low: float = -math.inf
    high: float = math.inf
    positive: bool = False  # must be > 0 (``low`` is then the smallest allowed, usually 0 excluded)

    def parse(self, text: str) -> object:
        if len(text) > 40:
            raise ValueError(_("{value} is not a number").format(value=_short(text)))
        try:
            number = float(text)
        except ValueError:
            raise ValueError(_("{value} is not a number").format(value=_short(text))) from None
        return self.check(number)

    def check(self, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(_("{value} is not a number").format(value=_shown(value)))
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(_("{value} is not a finite number").format(value=number))
        if self.positive and number <= 0:
            raise ValueError(_("{value:g} is not greater than 0").format(value=number))
        if not self.low <= number <= self.high:
            raise ValueError(
                _("{value:g} is outside {low:g} … {high:g}").format(value=number, low=self.low, high=self.high)
            )
        return number

    def text(self, value: object) -> str:
        return repr(float(value))


@dataclass(frozen=True)
class Bool(Field):
    def parse(self, text: str) -> object:
        if text not in ("0", "1"):
            raise ValueError(_("{value} is not 0 or 1").format(value=_short(text)))
        return text == "1"

    def check(self, value: object) -> object:
        if not isinstance(value, bool):
            raise ValueError(_("{value} is not true or false").format(value=_shown(value)))
        return value

    def text(self, value: object) -> str:
        return "1" if value else "0"


@dataclass(frozen=True)
class Text(Field):
    max_chars: int = 1000

    def parse(self, text: str) -> object:
        return self.check(text)

    def check(self, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError(_("{value} is not a text").format(value=_shown(value)))
        if len(value) > self.max_chars:
            raise ValueError(
                _("the text has {chars:,} characters, more than {limit:,}").format(
                    chars=len(value), limit=self.max_chars
                )
            )
        return value


def _slug(label: str) -> str:
    """The short code of a choice's label: its part before a bracket, lower case, runs of other characters as -."""
    head = label.split(" (")[0]
    return re.sub(r"[^a-z0-9]+", "-", head.lower()).strip("-") or "x"


def label_aliases(labels: Mapping[str, str], **fields: object) -> tuple[tuple[str, str], ...]:
    """The aliases of a :class:`Choice` whose options became codes: ``labels`` maps each code to the English label
    that used to be the option (its placeholders filled from ``fields``), so the code an older address holds for
    that label still chooses it."""
    pairs = []
    for code, label in labels.items():
        old = _slug(label.format(**fields) if fields else label)
        if old != _slug(code):
            pairs.append((old, code))
    return tuple(pairs)


@dataclass(frozen=True)
class Choice(Field):
    """One of ``options`` (the labels a radio or select box shows); the URL holds a short code of the label."""

    options: tuple[str, ...] = ()
    # (old code, option): codes an earlier version wrote for these options (links shared then keep working)
    aliases: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        codes = [_slug(o) for o in self.options]
        if len(set(codes)) != len(codes):
            raise ValueError(f"Choice {self.key!r}: options {self.options} give repeated codes {codes}")
        for old, option in self.aliases:
            if old in codes or option not in self.options:
                raise ValueError(f"Choice {self.key!r}: alias {old!r} -> {option!r} clashes or names no option")

    @property
    def codes(self) -> dict[str, str]:
        """code -> label."""
        return {_slug(o): o for o in self.options}

    def parse(self, text: str) -> object:
        codes = self.codes
        aliases = dict(self.aliases)
        if text not in codes and text in aliases:
            return aliases[text]
        if text not in codes:
            raise ValueError(_("{value} is not one of {options}").format(value=_short(text), options=", ".join(codes)))
        return codes[text]

    def check(self, value: object) -> object:
        if value not in self.options:
            raise ValueError(
                _("{value} is not one of {options}").format(
                    value=_shown(_as_shown(value)), options=", ".join(repr(_as_shown(o)) for o in self.options)
                )
            )
        return value

    def text(self, value: object) -> str:
        return _slug(str(value))


@dataclass(frozen=True)
class NumberChoice(Field):
    """One of ``options``, a list of numbers (a select box's or select slider's stops); the URL holds the number.

    A URL value is read as a number and must equal one of the options; the option itself is returned (an ``int``
    stays an ``int``), so ``64``, ``64.0`` and ``6.4e1`` all mean the stop 64.
    """

    options: tuple[int | float, ...] = ()

    def __post_init__(self) -> None:
        if not self.options or any(isinstance(o, bool) or not isinstance(o, (int, float)) for o in self.options):
            raise ValueError(f"NumberChoice {self.key!r}: options must be numbers, got {self.options!r}")
        if not all(math.isfinite(o) for o in self.options) or len(set(self.options)) != len(self.options):
            raise ValueError(f"NumberChoice {self.key!r}: options must be finite and distinct, got {self.options!r}")

    def _shown_options(self) -> str:
        shown = [f"{o:g}" for o in self.options]
        return ", ".join(shown if len(shown) <= 12 else [*shown[:5], "…", *shown[-5:]])

    def parse(self, text: str) -> object:
        if len(text) > 40 or not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?", text, flags=re.I):
            raise ValueError(_("{value} is not a number").format(value=_short(text)))
        return self.check(float(text))

    def check(self, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(_("{value} is not a number").format(value=_shown(value)))
        for option in self.options:
            if float(value) == float(option):
                return option
        raise ValueError(_("{value:g} is not one of {options}").format(value=value, options=self._shown_options()))

    def text(self, value: object) -> str:
        return str(value) if isinstance(value, int) else repr(float(value))


@dataclass(frozen=True)
class IntList(Field):
    low: int = 0
    high: int = 2**31 - 1
    max_items: int = 8

    def parse(self, text: str) -> object:
        if text == "":
            return []
        parts = text.split(",")
        if len(parts) > self.max_items:
            raise ValueError(_("{items} items, more than {limit}").format(items=len(parts), limit=self.max_items))
        if not all(re.fullmatch(r"-?\d{1,12}", p) for p in parts):
            raise ValueError(_("{value} is not a comma-separated list of whole numbers").format(value=_short(text)))
        return self.check([int(p) for p in parts])

    def check(self, value: object) -> object:
        if not isinstance(value, (list, tuple)):
            raise ValueError(_("{value} is not a list").format(value=_shown(value)))
        if len(value) > self.max_items:
            raise ValueError(_("{items} items, more than {limit}").format(items=len(value), limit=self.max_items))
        numbers = [_whole(v) for v in value]
        bad = [n for n in numbers if not self.low <= n <= self.high]
        if bad:
            raise ValueError(_("{value} is outside {low} … {high}").format(value=bad[0], low=self.low, high=self.high))
        if len(set(numbers)) != len(numbers):
            raise ValueError(_("an item is repeated"))
        return numbers

    def text(self, value: object) -> str:
        return ",".join(str(v) for v in value)


@dataclass(frozen=True)
class MatrixField:
    """An editable matrix whose shape is ``(rows, cols)``: each a setting's key (its current value) or a number."""

    key: str
    rows: str | int
    cols: str | int
    max_side: int = 64  # the editor's own limit (no shape setting may ask for more)
    name: str = ""  # what the page calls it ("X", "W_q"): download and upload labels

    @property
    def label(self) -> str:
        return self.name or self.key

    def shape(self, settings: Mapping[str, object]) -> tuple[int, int]:
        """The shape the matrix must have under ``settings`` (session key -> value)."""
        return tuple(int(s if isinstance(s, int) else settings[s]) for s in (self.rows, self.cols))  # type: ignore[return-value]


@dataclass(frozen=True)
class StateSpec:
    """What a page shares: its settings and editable matrices (see the module docstring)."""

    page: str  # the page's key prefix without "_" ("worked", "tokens", "mh", "pe"): the JSON's "page", file names
    fields: tuple[Field, ...]
    matrices: tuple[MatrixField, ...] = ()

    def __post_init__(self) -> None:
        keys = [f.key for f in self.fields] + [m.key for m in self.matrices]
        if len(set(keys)) != len(keys):
            raise ValueError(f"StateSpec {self.page!r} repeats a key: {keys}")
        names = {f.key for f in self.fields}
        for m in self.matrices:
            for side in (m.rows, m.cols):
                if not isinstance(side, int) and side not in names:
                    raise ValueError(f"matrix {m.key!r}: its shape names {side!r}, which is not a field of the page")

    @property
    def defaults(self) -> dict[str, object]:
        return {f.key: f.default for f in self.fields}

    def field(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)

    def matrix(self, key: str) -> MatrixField | None:
        return next((m for m in self.matrices if m.key == key), None)


@dataclass
class Decoded:
    """What a URL or a file holds: the settings it sets, its matrices, and each part it could not use."""

    settings: dict[str, object] = field(default_factory=dict)
    matrices: dict[str, np.ndarray] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _cut(shown: str, length: int) -> str:
    return _("{start}… ({chars:,} characters)").format(start=shown, chars=length)


def _short(text: str, limit: int = 40) -> str:
    return repr(text) if len(text) <= limit else _cut(repr(text[:limit]), len(text))


def _as_shown(value: object) -> object:
    """An option as the page shows it: an English label the catalog translates comes translated, a code stays."""
    if isinstance(value, str) and i18n.translated(value, i18n.language()):
        return _(value)
    return value


def _shown(value: object, limit: int = 40) -> str:
    """A value as Python writes it, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else _cut(text[:limit], len(text))


# ----------------------------------------------------------------------------------------------------- matrices


def encode_matrix(matrix: np.ndarray) -> str:
    """``<rows>x<cols>.<f4|f8>.<base64url>`` of a finite 2-D matrix (float32 when that is exact)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("matrix has a NaN or infinite value")
    as32 = m.astype("<f4")
    exact = np.array_equal(as32.astype(np.float64), m)
    data, tag = (as32, "f4") if exact else (m.astype("<f8"), "f8")
    text = base64.urlsafe_b64encode(np.ascontiguousarray(data).tobytes()).decode("ascii").rstrip("=")
    return f"{m.shape[0]}x{m.shape[1]}.{tag}.{text}"


def decode_matrix(text: str, max_shape: tuple[int, int]) -> np.ndarray:
    """The float64 matrix of :func:`encode_matrix`'s text; ``ValueError`` naming what is wrong."""
    found = _MATRIX.fullmatch(text)
    if not found:
        raise ValueError(_("is not a matrix <rows>x<cols>.<f4|f8>.<base64url>"))
    rows, cols, tag = int(found[1]), int(found[2]), found[3]
    if not (1 <= rows <= max_shape[0] and 1 <= cols <= max_shape[1]):
        raise ValueError(
            _("is {rows}×{cols}; at most {max_rows}×{max_cols} is allowed").format(
                rows=rows, cols=cols, max_rows=max_shape[0], max_cols=max_shape[1]
            )
        )
    payload = found[4]
    if len(payload) % 4 == 1:
        raise ValueError(_("is not valid base64 (its length is impossible)"))
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(_("is not valid base64")) from None
    size = 4 if tag == "f4" else 8
    if len(raw) != rows * cols * size:
        raise ValueError(
            _("holds {bytes} bytes; a {rows}×{cols} {tag} matrix needs {needed} (truncated?)").format(
                bytes=len(raw), rows=rows, cols=cols, tag=tag, needed=rows * cols * size
            )
        )
    m = np.frombuffer(raw, dtype="<f4" if tag == "f4" else "<f8").astype(np.float64).reshape(rows, cols)
    if not np.isfinite(m).all():
        i, j = np.argwhere(~np.isfinite(m))[0]
        raise ValueError(
            _("has {value} at row {row}, column {col}; every value must be a finite number").format(
                value=m[i, j], row=i + 1, col=j + 1
            )
        )
    return m


# ---------------------------------------------------------------------------------------------------- the URL


def _known_prefixes(spec: StateSpec, prefixes: Sequence[str]) -> tuple[str, ...]:
    return tuple(p for p in prefixes if p != spec.page + "_")


def decode_query(
    spec: StateSpec, params: Mapping[str, str | Sequence[str]], *, other_pages: Sequence[str] = ()
) -> Decoded:
    """The settings and matrices a URL's query parameters set, each bad one named and left out.

    ``params`` maps a key to its value (or its values, when repeated: the last is used, as Streamlit does). Keys
    starting with one of ``other_pages``' prefixes (another page's state, carried over by a page switch) are
    ignored silently; any other unknown key is named. A matrix is checked against the shape its (decoded or
    default) settings give.
    """
    out = Decoded()
    foreign = _known_prefixes(spec, other_pages)
    params = {key: value for key, value in params.items() if key not in GLOBAL_PARAMS}
    total = 0
    items = list(params.items())
    if len(items) > MAX_PARAMS:
        out.problems.append(
            _("the address has {params} parameters; only the first {limit} were read").format(
                params=len(items), limit=MAX_PARAMS
            )
        )
        items = items[:MAX_PARAMS]
    raw_matrices: dict[str, str] = {}
    for key, value in items:
        name = _short(str(key), 30)
        if not isinstance(value, str):
            value = value[-1] if len(value) else ""
        if len(value) > MAX_PARAM_CHARS:
            out.problems.append(
                _("URL parameter {name} ignored: its value has {chars:,} characters, more than {limit:,}").format(
                    name=name, chars=len(value), limit=MAX_PARAM_CHARS
                )
            )
            continue
        total += len(value)
        if total > MAX_QUERY_CHARS:
            out.problems.append(
                _("URL parameter {name} ignored: the address holds more than {limit:,} characters").format(
                    name=name, limit=MAX_QUERY_CHARS
                )
            )
            continue
        spec_field = spec.field(key)
        if spec_field is not None:
            try:
                out.settings[key] = spec_field.parse(value)
            except ValueError as err:
                out.problems.append(_("URL parameter {name} ignored: {problem}").format(name=name, problem=err))
        elif spec.matrix(key) is not None:
            raw_matrices[key] = value
        elif not (foreign and str(key).startswith(foreign)):
            out.problems.append(_("URL parameter {name} ignored: this page has no such setting").format(name=name))
    shapes_from = {**spec.defaults, **out.settings}
    for key, value in raw_matrices.items():
        m = spec.matrix(key)
        assert m is not None
        try:
            expected = m.shape(shapes_from)
            matrix = decode_matrix(value, (m.max_side, m.max_side))
            if matrix.shape != expected:
                raise ValueError(
                    _("is {rows}×{cols}; the settings make it {want_rows}×{want_cols}").format(
                        rows=matrix.shape[0], cols=matrix.shape[1], want_rows=expected[0], want_cols=expected[1]
                    )
                )
        except ValueError as err:
            out.problems.append(
                _("URL parameter {name} ignored: the matrix {problem}").format(name=repr(key), problem=err)
            )
        else:
            out.matrices[key] = matrix
    return out


def encode_query(
    spec: StateSpec,
    settings: Mapping[str, object],
    matrices: Mapping[str, np.ndarray] | None = None,
    *,
    default_matrices: Mapping[str, np.ndarray] | None = None,
    defaults: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """The query parameters of a page's state: each setting that differs from its default, each matrix that
    differs from its default matrix (all given matrices without ``default_matrices``).

    ``defaults`` overrides the spec's defaults for settings whose default depends on the state (a query row).
    A value the spec does not allow is left out (the page's own controls name it).
    """
    base = {**spec.defaults, **(defaults or {})}
    params: dict[str, str] = {}
    for f in spec.fields:
        if f.key not in settings:
            continue
        try:
            value = f.check(settings[f.key])
        except ValueError:
            continue
        if value != base.get(f.key):
            params[f.key] = f.text(value)
    for key, matrix in (matrices or {}).items():
        m = spec.matrix(key)
        if m is None:
            raise ValueError(
                _("matrix {key} is not one of the page's matrices {keys}").format(
                    key=repr(key), keys=[x.key for x in spec.matrices]
                )
            )
        default = None if default_matrices is None else default_matrices.get(key)
        matrix = np.asarray(matrix, dtype=np.float64)
        if default is not None and np.shape(default) == matrix.shape and np.array_equal(default, matrix):
            continue
        if np.isfinite(matrix).all() and max(matrix.shape) <= m.max_side:
            params[key] = encode_matrix(matrix)
    return params


def unshareable(spec: StateSpec, settings: Mapping[str, object]) -> list[str]:
    """Why a setting cannot go into the address (a text over its cap, a value out of range), one line each."""
    problems = []
    for f in spec.fields:
        if f.key in settings:
            try:
                f.check(settings[f.key])
            except ValueError as err:
                problems.append(f"{f.key}: {err}")
    return problems


# ------------------------------------------------------------------------------------------------------ JSON


def _table(matrix: np.ndarray, rows: Sequence[str] | None = None, cols: Sequence[str] | None = None) -> dict:
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim == 1:
        m = m[None, :]
    values = [[None if not math.isfinite(v) else float(v) for v in row] for row in m.reshape(m.shape[0], -1)]
    table: dict[str, object] = {"shape": list(np.shape(matrix)), "values": values}
    if rows is not None:
        table["rows"] = [str(r) for r in rows]
    if cols is not None:
        table["cols"] = [str(c) for c in cols]
    return table


def export_json(
    spec: StateSpec,
    settings: Mapping[str, object],
    matrices: Mapping[str, tuple[np.ndarray, Sequence[str], Sequence[str]]],
    computed: Mapping[str, np.ndarray | tuple[np.ndarray, Sequence[str], Sequence[str]]],
) -> str:
    """The page's whole state as JSON text (see the module docstring).

    ``matrices`` and ``computed`` map a name to a matrix or ``(matrix, row labels, column labels)``. A computed
    array of more than two dimensions (one matrix per head) keeps its ``shape`` and is stored flattened to rows.
    Masked cells (NaN, −inf) are written as ``null``.
    """
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "page": spec.page,
        "settings": {f.key: settings[f.key] for f in spec.fields if f.key in settings},
        "matrices": {k: _table(*v) for k, v in matrices.items()},
        "computed": {k: _table(*v) if isinstance(v, tuple) else _table(v) for k, v in computed.items()},
    }
    return json.dumps(doc, ensure_ascii=False, allow_nan=False)


def _matrix_values(name: str, table: object, expected: tuple[int, int]) -> tuple[np.ndarray | None, list[str]]:
    if not isinstance(table, dict) or not isinstance(table.get("values"), list):
        return None, [_('matrix {name} must be an object with a list of rows under "values"').format(name=repr(name))]
    rows = table["values"]
    if len(rows) != expected[0] or not all(isinstance(r, list) and len(r) == expected[1] for r in rows):
        got = f"{len(rows)}×{len(rows[0]) if rows and isinstance(rows[0], list) else '?'}"
        return None, [
            _("matrix {name} is {got}; the settings make it {rows}×{cols}").format(
                name=repr(name), got=got, rows=expected[0], cols=expected[1]
            )
        ]
    problems = []
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                problems.append(
                    _("matrix {name} row {row}, column {col}: {value} is not a finite number").format(
                        name=repr(name), row=i + 1, col=j + 1, value=_shown(v)
                    )
                )
                if len(problems) >= 5:
                    return None, problems
    if problems:
        return None, problems
    return np.array(rows, dtype=np.float64), []


def import_json(spec: StateSpec, data: bytes | str) -> Decoded:
    """The settings and matrices of an exported JSON file, or (when ``problems`` is non-empty) nothing at all.

    Checks: size ≤ :data:`MAX_FILE_BYTES`, valid JSON, ``format``/``version``/``page``, every setting by its field,
    every matrix's shape (from the file's own settings or the defaults) and finite values. Unknown settings or
    matrices are named. ``computed`` is not read.
    """
    size = len(data.encode() if isinstance(data, str) else data)
    if size > MAX_FILE_BYTES:
        return Decoded(
            problems=[_("the file has {bytes:,} bytes, more than {limit:,}").format(bytes=size, limit=MAX_FILE_BYTES)]
        )
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return Decoded(problems=[_("the file is not JSON: {problem}").format(problem=err)])
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return Decoded(
            problems=[_('the file is not an attnviz state (its "format" must be "{format}")').format(format=FORMAT)]
        )
    problems: list[str] = []
    if doc.get("version") != VERSION:
        problems.append(
            _("version {version} is not supported (this app reads version {supported})").format(
                version=repr(doc.get("version")), supported=VERSION
            )
        )
    if doc.get("page") != spec.page:
        problems.append(
            _("the file is from the page {page}, not {expected}").format(
                page=repr(doc.get("page")), expected=repr(spec.page)
            )
        )
    settings = doc.get("settings", {})
    matrices = doc.get("matrices", {})
    if not isinstance(settings, dict):
        problems.append(_('"settings" must be an object'))
        settings = {}
    if not isinstance(matrices, dict):
        problems.append(_('"matrices" must be an object'))
        matrices = {}
    out = Decoded()
    for key, value in settings.items():
        f = spec.field(key)
        if f is None:
            problems.append(_("setting {name}: this page has no such setting").format(name=_short(str(key), 30)))
            continue
        try:
            out.settings[key] = f.check(value)
        except ValueError as err:
            problems.append(_("setting {name}: {problem}").format(name=repr(key), problem=err))
    shapes_from = {**spec.defaults, **out.settings}
    for key, table in matrices.items():
        m = spec.matrix(key)
        if m is None:
            problems.append(_("matrix {name}: this page has no such matrix").format(name=_short(str(key), 30)))
            continue
        matrix, bad = _matrix_values(key, table, m.shape(shapes_from))
        problems += bad
        if matrix is not None:
            out.matrices[key] = matrix
    if problems:
        return Decoded(problems=problems)
    return out


# ------------------------------------------------------------------------------------------------------- CSV


def matrix_csv(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str]) -> str:
    """One matrix as CSV: header ``"", *cols``, then ``row label, values…`` (shortest exact decimals; masked
    cells empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["", *cols])
    for label, row in zip(rows, np.asarray(matrix, dtype=np.float64), strict=True):
        writer.writerow([label, *("" if not math.isfinite(v) else repr(float(v)) for v in row)])
    return buffer.getvalue()


def parse_csv(
    name: str, data: bytes | str, rows: Sequence[str], cols: Sequence[str]
) -> tuple[np.ndarray | None, list[str]]:
    """The matrix in a CSV of :func:`matrix_csv`'s layout, for the table ``name`` showing ``rows`` × ``cols``.

    The header must name the columns shown (in order) and each row start with its label; every value a finite
    number. Returns ``(matrix, [])`` or ``(None, problems)``.
    """
    size = len(data.encode() if isinstance(data, str) else data)
    if size > MAX_FILE_BYTES:
        return None, [_("the file has {bytes:,} bytes, more than {limit:,}").format(bytes=size, limit=MAX_FILE_BYTES)]
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None, [_("the file is not UTF-8 text")]
    try:
        lines = [r for r in csv.reader(io.StringIO(data)) if r]
    except csv.Error as err:
        return None, [_("the file is not CSV: {problem}").format(problem=err)]
    if not lines:
        return None, [_("the file is empty")]
    header, body = lines[0], lines[1:]
    problems = []
    if [h.strip() for h in header[1:]] != list(cols):
        problems.append(
            _("{name}: the header must be a blank cell and the columns {cols}; got {header}").format(
                name=name, cols=", ".join(cols), header=", ".join(header[:12])
            )
        )
    if len(body) != len(rows):
        problems.append(
            _("{name} has {rows} rows; the file has {lines}").format(name=name, rows=len(rows), lines=len(body))
        )
    if problems:
        return None, problems
    values = np.empty((len(rows), len(cols)))
    for i, (label, line) in enumerate(zip(rows, body, strict=True)):
        if line[0].strip() != label or len(line) != len(cols) + 1:
            problems.append(
                _("{name} row {row} must start with {label} and hold {values} values").format(
                    name=name, row=i + 1, label=repr(label), values=len(cols)
                )
            )
            continue
        for j, cell in enumerate(line[1:]):
            try:
                v = float(cell)
            except ValueError:
                v = math.nan
            if not math.isfinite(v):
                problems.append(
                    _("{name} row {row}, column {col}: {value} is not a finite number").format(
                        name=name, row=repr(label), col=repr(cols[j]), value=_short(cell)
                    )
                )
            values[i, j] = v
        if len(problems) >= 5:
            break
    return (None, problems) if problems else (values, [])

"""Streamlit's browser protocol without a browser: one client is one browser tab's worth of traffic to the server.

The frontend (Streamlit 1.67, Starlette server) talks to the server like this, and so does :class:`ProtocolClient`:

1. ``GET /<page>`` (the HTML document), ``GET /_stcore/health`` (which sets the ``_streamlit_xsrf`` cookie) and
   ``GET /_stcore/host-config``. The JavaScript and CSS bundle a browser also loads is not fetched: it is static,
   cached after a browser's first visit, and page switches inside the app never reload it.
2. A websocket to ``/_stcore/stream`` with the ``Origin`` and ``Cookie`` headers a browser sends and the
   subprotocols ``["streamlit", <xsrf cookie value>]`` (the frontend passes its XSRF token that way).
3. Binary protobuf frames only: ``BackMsg`` up, ``ForwardMsg`` down. The first ``BackMsg`` is a ``rerun_script``
   with the page's URL path as ``page_name`` and no ``page_script_hash``; every later rerun carries the current
   page's hash, the state of every widget on the page (what the frontend's widget manager holds: each widget's
   default or server-set value, a data editor's cumulative ``{"edited_rows", "added_rows", "deleted_rows"}`` JSON
   once edited), the hashes of the cached messages and the browser's ``context_info``; when the changed widget lives
   in an ``st.fragment``, the rerun names that fragment and only the fragment runs. A page change sends the target
   page's hash and only the widget states of elements the main script drew (none in a ``pages/`` app).
4. The server answers each rerun with ``new_session``, ``navigation``, deltas (one per element) and finally
   ``script_finished``. The client keeps the page's elements like the frontend's element tree: a run replaces what
   it sends again and, once finished, drops what it did not (only inside the fragment after a fragment run).
5. Deltas at or above ``global.minCachedMessageSize`` are marked cacheable; the client keeps them and the server
   may send a ``ref_hash`` instead of a message the client said it holds. The cache ages and evicts entries like
   the frontend's (unused for more than ``max_cached_message_age`` finished runs; after a fragment run, only the
   fragment's entries age).

Only loopback URLs are accepted. Every wait is bounded by the caller's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

__all__ = [
    "AppPage",
    "Drawn",
    "MessageCache",
    "ProtocolClient",
    "ProtocolError",
    "RunResult",
    "editor_column_names",
    "editor_state_json",
    "initial_widget_state",
]

XSRF_COOKIE = "_streamlit_xsrf"
STREAM_PATH = "/_stcore/stream"
FINISHED_SUCCESSFULLY = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")
FINISHED_EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
FINISHED_FRAGMENT = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_FRAGMENT_RUN_SUCCESSFULLY")
ALERT_ERROR = (
    Element.DESCRIPTOR.fields_by_name["alert"].message_type.enum_types_by_name["Format"].values_by_name["ERROR"].number
)
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # the app's server.maxMessageSize is 50 MB
# The browser's context (ContextInfo) as Chromium in UTC with an en-US locale reports it; sent with every rerun.
CONTEXT = {"timezone": "UTC", "timezone_offset": 0, "locale": "en-US", "is_embedded": False, "color_scheme": "light"}
USER_AGENT = "attnviz-load/1 (Streamlit protocol client)"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ProtocolError(Exception):
    """The exchange with the server went wrong: ``kind`` is one word (timeout, disconnect, http, …)."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class AppPage:
    page_script_hash: str
    page_name: str
    url_pathname: str  # "" for the default (home) page
    is_default: bool = False


@dataclass(frozen=True)
class Drawn:
    """An element on the page, as the frontend's element tree holds it."""

    element: Element
    script: str  # the script that drew it (the page's, or the main script's)
    fragment: str  # the fragment it belongs to, "" outside fragments
    run: int  # the client's count of the run that last sent it


@dataclass
class RunResult:
    """What one script run sent, and the page as it stands once the run is over."""

    sent_at: float  # time.monotonic() when the BackMsg went out
    first_at: float | None = None  # the first message (new_session: the server took the rerun request)
    first_element_at: float | None = None  # the first element: the script is running and drawing
    finished_at: float | None = None
    status: int | None = None  # ForwardMsg.ScriptFinishedStatus
    bytes: int = 0  # websocket payload bytes received for this run
    messages: int = 0
    cache_hits: int = 0
    new_session: bool = False
    page_script_hash: str = ""  # the page that ran (the navigation message's, else new_session's)
    page_not_found: str | None = None
    fragment_id: str = ""  # the fragment this run was asked to rerun, "" for the whole page
    fragment_ids: tuple[str, ...] = ()  # the fragments that ran (script_finished's run identity)
    elements: list[Element] = field(default_factory=list)  # every element this run sent, in order
    page: dict[tuple[int, ...], Drawn] = field(default_factory=dict)  # the page after the run, by delta path
    exceptions: list[str] = field(default_factory=list)
    error_alerts: list[str] = field(default_factory=list)

    @property
    def elapsed_ms(self) -> float | None:
        return None if self.finished_at is None else (self.finished_at - self.sent_at) * 1000

    @property
    def first_message_ms(self) -> float | None:
        return None if self.first_at is None else (self.first_at - self.sent_at) * 1000

    @property
    def first_element_ms(self) -> float | None:
        return None if self.first_element_at is None else (self.first_element_at - self.sent_at) * 1000

    @property
    def ok(self) -> bool:
        return self.status in (FINISHED_SUCCESSFULLY, FINISHED_FRAGMENT)

    def plotly_figure(self, title_start: str) -> dict[str, Any] | None:
        """The spec (parsed JSON) of the one plotly chart whose title starts with ``title_start``, or None."""
        found = []
        for element in (drawn.element for drawn in self.page.values()):
            spec = _figure_spec(element)
            if spec is None:
                continue
            title = (spec.get("layout") or {}).get("title") or {}
            text = title.get("text", "") if isinstance(title, dict) else str(title)
            if text.startswith(title_start):
                found.append(spec)
        return found[0] if len(found) == 1 else None

    def widget_element(self, key: str) -> Element | None:
        """The element on the page of the widget whose user key is ``key`` (its id ends in ``-<key>``), or None."""
        for drawn in self.page.values():
            widget_id = _widget_id(drawn.element)
            if widget_id is not None and widget_id.endswith(f"-{key}"):
                return drawn.element
        return None


def _figure_spec(element: Element) -> dict[str, Any] | None:
    """The figure JSON of a ``st.plotly_chart`` element or of the app's in-place chart component, else None."""
    kind = element.WhichOneof("type")
    if kind == "plotly_chart" and element.plotly_chart.spec:
        return json.loads(element.plotly_chart.spec)
    if kind == "bidi_component" and element.bidi_component.WhichOneof("data") == "bytes":
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            payload = json.loads(element.bidi_component.bytes.decode())
            if isinstance(payload, dict) and isinstance(payload.get("figure"), dict):
                return payload["figure"]
    return None


# ------------------------------------------------------------------------------------------------ widget states


def _widget_id(element: Element) -> str | None:
    kind = element.WhichOneof("type")
    if kind is None:
        return None
    proto = getattr(element, kind)
    return getattr(proto, "id", None) or None


def _has(proto: Any, name: str) -> bool:
    try:
        return proto.HasField(name)
    except ValueError:  # a field without presence: always "set"
        return True


def initial_widget_state(element: Element) -> WidgetState | None:
    """The state the frontend registers for a widget when it is drawn (its server-set value, else its default).

    None for elements that only send a state when used (buttons, data editors, charts) and for widgets without a
    value (``index=None``).
    """
    kind = element.WhichOneof("type")
    widget_id = _widget_id(element)
    if widget_id is None:
        return None
    proto = getattr(element, kind)
    state = WidgetState(id=widget_id)
    if kind in ("radio", "selectbox"):
        if proto.set_value and _has(proto, "raw_value"):
            state.string_value = proto.raw_value
        elif _has(proto, "default") and 0 <= proto.default < len(proto.options):
            state.string_value = proto.options[proto.default]
        else:
            return None
    elif kind == "checkbox":
        state.bool_value = proto.value if proto.set_value else proto.default
    elif kind == "number_input":
        if proto.set_value and _has(proto, "value"):
            value = proto.value
        elif _has(proto, "default"):
            value = proto.default
        else:
            return None
        if proto.data_type == type(proto).DataType.Value("INT"):
            state.int_value = round(value)
        else:
            state.double_value = value
    elif kind in ("text_input", "text_area"):
        if proto.set_value and _has(proto, "value"):
            state.string_value = proto.value
        elif _has(proto, "default"):
            state.string_value = proto.default
        else:
            return None
    elif kind == "slider":
        state.double_array_value.data.extend(proto.value if proto.set_value else proto.default)
    elif kind == "multiselect":
        values = list(proto.raw_values) if proto.set_value else [proto.options[i] for i in proto.default]
        state.string_array_value.data.extend(values)
    else:  # buttons, data editors, charts with selections, …: nothing until the user acts
        return None
    return state


def _js_number(value: float) -> float | int:
    """How JSON.stringify writes a number: 2.0 → 2 (Python's repr of other floats is already the same)."""
    return int(value) if float(value).is_integer() else value


def editor_state_json(edited_rows: dict[int, dict[str, float]]) -> str:
    """A data editor's widget value as the frontend sends it (keys in JavaScript's order: integer keys ascending)."""

    def key_order(key: str) -> tuple[int, int | str]:
        return (0, int(key)) if key.isdigit() else (1, key)

    rows = {}
    for row in sorted(edited_rows):
        cells = edited_rows[row]
        rows[str(row)] = {c: _js_number(cells[c]) for c in sorted(cells, key=key_order)}
    return json.dumps({"edited_rows": rows, "added_rows": [], "deleted_rows": []}, separators=(",", ":"))


def editor_column_names(element: Element) -> dict[str, str]:
    """A data editor's column labels (as shown) → column names (as keyed in ``edited_rows``)."""
    if element.WhichOneof("type") != "dataframe":
        raise ValueError("not a data editor")
    config = json.loads(element.dataframe.columns or "{}")
    names = {}
    for name, column in config.items():
        if isinstance(column, dict) and column.get("label"):
            names[column["label"]] = name
    return names


# ------------------------------------------------------------------------------------------------ message cache


class MessageCache:
    """The frontend's ForwardMsg cache: cacheable messages by hash, aged by finished script runs."""

    def __init__(self) -> None:
        self.messages: dict[str, tuple[bytes, int, str]] = {}  # hash → (encoded message, run count when last
        # used, its fragment)
        self.run_count = 0

    def hashes(self) -> list[str]:
        return list(self.messages)

    def process(self, msg: ForwardMsg, payload: bytes) -> tuple[ForwardMsg, bool]:
        """Store a cacheable message; resolve a ``ref_hash``. Returns the message to handle and whether it was a
        cache hit."""
        if msg.WhichOneof("type") != "ref_hash":
            if msg.metadata.cacheable and msg.hash:
                self.messages[msg.hash] = (payload, self.run_count, msg.delta.fragment_id)
            return msg, False
        entry = self.messages.get(msg.ref_hash)
        if entry is None:
            raise ProtocolError("cache_miss", f"the server referred to message {msg.ref_hash}, which is not cached")
        self.messages[msg.ref_hash] = (entry[0], self.run_count, entry[2])
        cached = ForwardMsg.FromString(entry[0])
        cached.metadata.CopyFrom(msg.metadata)
        return cached, True

    def finished_run(self, max_age: int, fragment_ids: tuple[str, ...] = ()) -> None:
        """A run is over: entries unused for more than ``max_age`` runs go (after a fragment run, only the entries
        of the fragments that ran)."""
        self.run_count += 1
        for key, (_, used, fragment) in list(self.messages.items()):
            if fragment_ids and fragment not in fragment_ids:
                continue
            if self.run_count - used > max_age:
                del self.messages[key]


# ------------------------------------------------------------------------------------------------ the client


def _check_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if host not in _LOOPBACK:
        raise ValueError(f"only loopback servers: {url}")


class ProtocolClient:
    """One browser tab's Streamlit session, driven directly over the websocket."""

    def __init__(self, base_url: str, *, timeout: float = 45.0):
        _check_loopback(base_url)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.ws: ClientConnection | None = None
        self.xsrf: str | None = None
        self.cache = MessageCache()
        self.max_cached_message_age = 2
        self.pages: list[AppPage] = []
        self.main_script_hash = ""
        self.page_script_hash = ""  # the page shown now
        self.url = self.base_url + "/"
        self.page: dict[tuple[int, ...], Drawn] = {}  # the frontend's element tree, by delta path
        self.runs = 0  # runs started
        self.widget_states: dict[str, WidgetState] = {}  # what the frontend's widget manager holds
        self.editor_edits: dict[str, dict[int, dict[str, float]]] = {}  # data editor id → edited_rows
        self.changed_fragments: set[str] = set()  # fragments of the widgets changed since the last rerun
        self.http_bytes = 0
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy

    # -------------------------------------------------------------------------------------------- connecting

    def _get(self, path: str) -> str | None:
        """GET ``path`` like the browser (with the XSRF cookie once it has one); the XSRF value of a Set-Cookie."""
        request = urllib.request.Request(self.base_url + path, headers={"User-Agent": USER_AGENT})
        if self.xsrf:
            request.add_header("Cookie", f"{XSRF_COOKIE}={self.xsrf}")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body = response.read()
                status, cookies = response.status, response.headers.get_all("Set-Cookie") or []
        except OSError as err:  # HTTPError (a status other than 2xx) included
            raise ProtocolError("http", f"GET {path}: {err}") from err
        if status != 200:
            raise ProtocolError("http", f"GET {path}: status {status}")
        self.http_bytes += len(body)
        for cookie in cookies:
            name, _, rest = cookie.partition("=")
            if name.strip() == XSRF_COOKIE:
                return rest.split(";", 1)[0]
        return None

    def _load_document(self, path: str) -> None:
        self._get("/" + path.lstrip("/"))
        self.xsrf = self._get("/_stcore/health") or self.xsrf
        self._get("/_stcore/host-config")

    async def connect(self, path: str) -> None:
        """Load the page's HTML and the health/host-config endpoints, then open the websocket (no run yet)."""
        await asyncio.to_thread(self._load_document, path)
        headers = {"Cookie": f"{XSRF_COOKIE}={self.xsrf}"} if self.xsrf else {}
        host = urlparse(self.base_url).netloc
        try:
            self.ws = await connect(
                f"ws://{host}{STREAM_PATH}",
                origin=self.base_url,
                subprotocols=["streamlit", self.xsrf or "PLACEHOLDER_AUTH_TOKEN"],
                additional_headers=headers,
                user_agent_header=USER_AGENT,
                proxy=None,
                open_timeout=self.timeout,
                ping_interval=None,  # a browser never pings; it answers the server's pings (so does this client)
                close_timeout=5,
                max_size=MAX_MESSAGE_BYTES,
                max_queue=None,  # like a browser: read everything the server sends, never push back
            )
        except (OSError, InvalidHandshake, TimeoutError) as err:
            raise ProtocolError("connect", f"websocket: {type(err).__name__}: {err}") from err
        self.url = f"{self.base_url}/{path.lstrip('/')}"

    async def close(self) -> None:
        if self.ws is not None:
            ws, self.ws = self.ws, None
            with contextlib.suppress(TimeoutError, OSError, ConnectionClosed):
                await asyncio.wait_for(ws.close(), 10)

    # -------------------------------------------------------------------------------------------- reruns

    def _context(self, rerun: Any) -> None:
        for name, value in CONTEXT.items():
            setattr(rerun.context_info, name, value)
        rerun.context_info.url = self.url  # the page shown when the message is sent

    def _widget_states(self) -> WidgetStates:
        """Every widget state the frontend holds for the elements on the page (in the order they were drawn)."""
        states = WidgetStates()
        for drawn in self.page.values():
            widget_id = _widget_id(drawn.element)
            if widget_id in self.widget_states:
                states.widgets.append(self.widget_states[widget_id])
            if self.editor_edits.get(widget_id):
                states.widgets.append(
                    WidgetState(id=widget_id, string_value=editor_state_json(self.editor_edits[widget_id]))
                )
        return states

    async def open(self, path: str) -> RunResult:
        """Open the page at URL ``path`` (e.g. ``Worked_example``) as a fresh tab does: connect and run it once."""
        await self.connect(path)
        msg = BackMsg()
        msg.rerun_script.widget_states.SetInParent()
        msg.rerun_script.page_name = path.strip("/")
        self._context(msg.rerun_script)
        return await self._run(msg)

    async def rerun(self) -> RunResult:
        """Send what a widget change makes the frontend send: a rerun of the current page with every widget's state,
        of only the changed widget's fragment when the widget lives in one."""
        fragments, self.changed_fragments = self.changed_fragments, set()
        msg = BackMsg()
        msg.rerun_script.widget_states.CopyFrom(self._widget_states())
        msg.rerun_script.page_script_hash = self.page_script_hash
        if len(fragments) == 1:
            msg.rerun_script.fragment_id = fragments.pop()
        self._context(msg.rerun_script)
        return await self._run(msg)

    async def switch_page(self, page_script_hash: str) -> RunResult:
        """Go to another page as its link does: the page's elements go at once, only the main script's widgets keep
        their states."""
        self.page = {path: drawn for path, drawn in self.page.items() if drawn.script == self.main_script_hash}
        msg = BackMsg()
        msg.rerun_script.widget_states.CopyFrom(self._widget_states())
        msg.rerun_script.page_script_hash = page_script_hash
        self._context(msg.rerun_script)
        return await self._run(msg)

    def edit_cell(self, editor_id: str, row: int, column: str, value: float) -> None:
        """Type ``value`` into a data editor's cell (committed by the next :meth:`rerun`); edits accumulate."""
        drawn = next((d for d in self.page.values() if _widget_id(d.element) == editor_id), None)
        if drawn is None:
            raise ProtocolError("no_editor", f"no data editor {editor_id} on the page")
        self.editor_edits.setdefault(editor_id, {}).setdefault(row, {})[column] = value
        self.changed_fragments.add(drawn.fragment)

    async def _run(self, msg: BackMsg) -> RunResult:
        if self.ws is None:
            raise ProtocolError("disconnect", "not connected")
        msg.rerun_script.cached_message_hashes.extend(self.cache.hashes())
        self.runs += 1
        result = RunResult(sent_at=time.monotonic(), fragment_id=msg.rerun_script.fragment_id)
        deadline = result.sent_at + self.timeout
        try:
            await self.ws.send(msg.SerializeToString())
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                payload = await asyncio.wait_for(self.ws.recv(), remaining)
                if self._handle(payload, result):
                    return result
        except TimeoutError as err:
            raise ProtocolError(
                "timeout", f"no script_finished within {self.timeout:.0f} s ({result.messages} messages arrived)"
            ) from err
        except ConnectionClosed as err:
            raise ProtocolError("disconnect", f"websocket closed: {err}") from err

    def _handle(self, payload: bytes | str, result: RunResult) -> bool:
        """Handle one frame; True when it ended the run."""
        now = time.monotonic()
        if isinstance(payload, str):
            raise ProtocolError("protocol", "a text frame (the server sends binary protobufs only)")
        if result.first_at is None:
            result.first_at = now
        result.bytes += len(payload)
        result.messages += 1
        msg, hit = self.cache.process(ForwardMsg.FromString(payload), payload)
        result.cache_hits += hit
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self._new_session(msg, result)
        elif kind == "navigation":  # the pages, and the page this run shows
            self.pages = [
                AppPage(p.page_script_hash, p.page_name, "" if p.is_default else p.url_pathname, p.is_default)
                for p in msg.navigation.app_pages
            ]
            result.page_script_hash = msg.navigation.page_script_hash
        elif kind == "delta":
            self._delta(msg, result)
        elif kind == "page_not_found":
            result.page_not_found = msg.page_not_found.page_name or "(unnamed)"
        elif kind == "script_finished":
            if msg.script_finished == FINISHED_EARLY_FOR_RERUN:
                return False  # an earlier run gave way to this one: keep waiting for this one's end
            result.status, result.finished_at = msg.script_finished, now
            result.fragment_ids = tuple(msg.metadata.run.fragment_ids)
            if result.new_session:
                self.cache.finished_run(self.max_cached_message_age, result.fragment_ids)
            self._finished(result)
            return True
        return False

    def _new_session(self, msg: ForwardMsg, result: RunResult) -> None:
        session = msg.new_session
        result.new_session = True
        result.page_script_hash = result.page_script_hash or session.page_script_hash
        self.main_script_hash = session.main_script_hash
        if session.config.max_cached_message_age:
            self.max_cached_message_age = session.config.max_cached_message_age
        if session.app_pages and not self.pages:
            self.pages = [
                AppPage(p.page_script_hash, p.page_name, p.url_pathname.replace(" ", "_"), False)
                for p in session.app_pages
            ]

    def _delta(self, msg: ForwardMsg, result: RunResult) -> None:
        delta = msg.delta
        kind = delta.WhichOneof("type")
        elements: list[Element] = []
        path = tuple(msg.metadata.delta_path)
        if kind == "new_element":
            if result.first_element_at is None:
                result.first_element_at = time.monotonic()
            elements = [delta.new_element]
            script = msg.metadata.active_script_hash
            self.page[path] = Drawn(delta.new_element, script, delta.fragment_id, self.runs)
        elif kind == "add_block":
            self.page.pop(path, None)  # a container now stands where an element stood
        elif kind == "new_transient":
            elements = list(delta.new_transient.elements)
        result.elements += elements
        for element in elements:
            which = element.WhichOneof("type")
            if which == "exception":
                e = element.exception
                result.exceptions.append(f"{e.type}: {e.message}".strip(": ")[:300])
            elif which == "alert" and element.alert.format == ALERT_ERROR:
                result.error_alerts.append(element.alert.body[:300])

    def _finished(self, result: RunResult) -> None:
        """Once a run is over, do what the frontend does: drop the elements the run did not send again (after a
        fragment run, only inside the fragments that ran), then the states of widgets no longer drawn; register new
        widgets and take server-set values."""
        if result.page_script_hash:
            self.page_script_hash = result.page_script_hash
            page = next((p for p in self.pages if p.page_script_hash == result.page_script_hash), None)
            if page is not None:
                self.url = f"{self.base_url}/{page.url_pathname}"
        if result.ok:  # the frontend clears stale elements only after a successful run
            ran = set(result.fragment_ids)
            self.page = {
                path: drawn
                for path, drawn in self.page.items()
                if drawn.run == self.runs or (ran and drawn.fragment not in ran)
            }
            drawn_widgets = {_widget_id(d.element): d for d in self.page.values() if _widget_id(d.element)}
            self.widget_states = {k: v for k, v in self.widget_states.items() if k in drawn_widgets}
            self.editor_edits = {k: v for k, v in self.editor_edits.items() if k in drawn_widgets}
            for widget_id, drawn in drawn_widgets.items():
                element = drawn.element
                proto = getattr(element, element.WhichOneof("type"))
                server_set = drawn.run == self.runs and getattr(proto, "set_value", False)
                if widget_id not in self.widget_states or server_set:
                    state = initial_widget_state(element)
                    if state is not None:
                        self.widget_states[widget_id] = state
        result.page = dict(self.page)

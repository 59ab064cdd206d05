"""attnviz.sharing: the URL encoding, its caps and every hostile input, JSON and CSV round trips and rejections."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest

from attnviz import sharing
from attnviz.sharing import Bool, Choice, Float, Int, IntList, MatrixField, NumberChoice, StateSpec, Text

SPEC = StateSpec(
    "demo",
    (
        Int("demo_t", 3, low=1, high=12),
        Int("demo_d", 4, low=1, high=8),
        Int("demo_len", None, low=1, high=10, optional=True),
        Float("demo_temp", 1.0, positive=True, high=1e6),
        Bool("demo_causal", False),
        Choice("demo_mode", "Words and punctuation", options=("Words and punctuation", "Characters")),
        Text("demo_text", "hello", max_chars=100),
        IntList("demo_dims", [0, 1], low=0, high=7, max_items=4),
    ),
    matrices=(MatrixField("demo_x", "demo_t", "demo_d", max_side=12),),
)
X = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0]])


def test_matrix_encoding_is_compact_and_exact():
    text = sharing.encode_matrix(X)
    assert text.startswith("3x4.f4.") and len(text) == len("3x4.f4.") + math.ceil(48 * 4 / 3)
    np.testing.assert_array_equal(sharing.decode_matrix(text, (12, 12)), X)
    # A value float32 cannot hold exactly goes as float64 and comes back bit for bit.
    y = X + 0.1
    text = sharing.encode_matrix(y)
    assert ".f8." in text
    np.testing.assert_array_equal(sharing.decode_matrix(text, (12, 12)), y)
    # The documented layout: little-endian float32, row-major, base64url without padding.
    raw = base64.urlsafe_b64decode(text.split(".")[2] + "==")
    np.testing.assert_array_equal(np.frombuffer(raw, "<f8").reshape(3, 4), y)


def test_encode_query_writes_only_what_differs():
    assert sharing.encode_query(SPEC, SPEC.defaults, {"demo_x": X}, default_matrices={"demo_x": X}) == {}
    params = sharing.encode_query(
        SPEC,
        {**SPEC.defaults, "demo_t": 5, "demo_mode": "Characters", "demo_causal": True, "demo_dims": [3], "demo_len": 2},
        {"demo_x": np.ones((5, 4))},
        default_matrices={"demo_x": X},
    )
    assert params == {
        "demo_t": "5",
        "demo_mode": "characters",
        "demo_causal": "1",
        "demo_dims": "3",
        "demo_len": "2",
        "demo_x": sharing.encode_matrix(np.ones((5, 4))),
    }
    decoded = sharing.decode_query(SPEC, params)
    assert decoded.problems == []
    assert decoded.settings == {
        "demo_t": 5,
        "demo_mode": "Characters",
        "demo_causal": True,
        "demo_dims": [3],
        "demo_len": 2,
    }
    np.testing.assert_array_equal(decoded.matrices["demo_x"], np.ones((5, 4)))


def test_a_dynamic_default_is_not_written():
    params = sharing.encode_query(SPEC, {"demo_dims": [2, 3]}, defaults={"demo_dims": [2, 3]})
    assert params == {}


def _b64(a: np.ndarray, dtype: str = "<f4") -> str:
    return base64.urlsafe_b64encode(np.asarray(a, dtype).tobytes()).decode().rstrip("=")


GOOD_X = sharing.encode_matrix(X)
HOSTILE = [
    # (parameters, what the problem names)
    ({"nope": "1"}, "'nope' ignored: this page has no such setting"),
    ({"k" * 100_000: "1"}, "… (100,000 characters) ignored: this page has no such setting"),
    ({"demo_t\x00": "1"}, "'demo_t\\x00' ignored: this page has no such setting"),
    ({"demo_t": "abc"}, "'demo_t' ignored: 'abc' is not a whole number"),
    ({"demo_t": "2.5"}, "'demo_t' ignored: '2.5' is not a whole number"),
    ({"demo_t": "99999999"}, "'demo_t' ignored: 99999999 is outside 1 … 12"),
    ({"demo_t": "9" * 500}, "'demo_t' ignored"),
    ({"demo_t": "0"}, "0 is outside 1 … 12"),
    ({"demo_temp": "nan"}, "'demo_temp' ignored: nan is not a finite number"),
    ({"demo_temp": "inf"}, "'demo_temp' ignored: inf is not a finite number"),
    ({"demo_temp": "-1"}, "-1 is not greater than 0"),
    ({"demo_temp": "1e400"}, "inf is not a finite number"),
    ({"demo_causal": "yes"}, "'demo_causal' ignored: 'yes' is not 0 or 1"),
    ({"demo_mode": "klingon"}, "'klingon' is not one of words-and-punctuation, characters"),
    ({"demo_text": "x" * 101}, "the text has 101 characters, more than 100"),
    ({"demo_text": "x" * 100_000}, "its value has 100,000 characters, more than 8,192"),
    ({"demo_dims": "1,2,x"}, "is not a comma-separated list of whole numbers"),
    ({"demo_dims": "1,2,3,4,5"}, "5 items, more than 4"),
    ({"demo_dims": "1,1"}, "an item is repeated"),
    ({"demo_dims": "9"}, "9 is outside 0 … 7"),
    ({"demo_x": "garbage"}, "'demo_x' ignored: the matrix is not a matrix"),
    ({"demo_x": GOOD_X[:-10]}, "(truncated?)"),
    ({"demo_x": "3x4.f4.@@@@"}, "is not a matrix"),
    ({"demo_x": "3x4.f4." + "A" * 5}, "is not valid base64"),
    ({"demo_x": "9999x9999.f4.AAAA"}, "is 9999×9999; at most 12×12 is allowed"),
    ({"demo_x": "3x4.f4." + _b64(np.full((3, 4), np.nan))}, "has nan at row 1, column 1"),
    ({"demo_x": "3x4.f8." + _b64(np.full((3, 4), np.inf), "<f8")}, "has inf at row 1, column 1"),
    ({"demo_x": "2x4.f4." + _b64(np.ones((2, 4)))}, "is 2×4; the settings make it 3×4"),
    ({"demo_t": "2", "demo_x": GOOD_X}, "is 3×4; the settings make it 2×4"),
]


@pytest.mark.parametrize(("params", "named"), HOSTILE)
def test_every_hostile_parameter_is_named_and_left_at_its_default(params, named):
    decoded = sharing.decode_query(SPEC, {**params, "demo_d": "4"})
    assert len(decoded.problems) == 1, decoded.problems
    assert named in decoded.problems[0]
    bad_keys = {k for k in params if k != "demo_t" or "demo_x" not in params}
    assert not bad_keys & (decoded.settings.keys() | decoded.matrices.keys())
    assert decoded.settings.get("demo_d") == 4  # the good parameter next to it is used


def test_caps_on_the_whole_query():
    many = {f"demo_k{i}": "1" for i in range(100)}
    decoded = sharing.decode_query(SPEC, many)
    assert any("100 parameters; only the first 64" in p for p in decoded.problems)
    big = {f"demo_text{i}": "x" * 8000 for i in range(5)} | {"demo_t": "4"}
    decoded = sharing.decode_query(SPEC, big)
    assert any("more than 32,768 characters" in p for p in decoded.problems)


def test_repeated_keys_use_the_last_value_and_other_pages_are_ignored():
    decoded = sharing.decode_query(SPEC, {"demo_t": ["2", "7"], "tokens_text": "hi"}, other_pages=("tokens_", "demo_"))
    assert decoded.settings == {"demo_t": 7}
    assert decoded.problems == []
    # This page's own prefix is not "another page": its unknown keys are named.
    decoded = sharing.decode_query(SPEC, {"demo_zzz": "1"}, other_pages=("tokens_", "demo_"))
    assert decoded.problems and "demo\\_zzz" not in decoded.problems[0]


def test_empty_optional_is_none():
    assert sharing.decode_query(SPEC, {"demo_len": ""}).settings == {"demo_len": None}


def test_json_round_trip():
    settings = {**SPEC.defaults, "demo_t": 3, "demo_temp": 0.25, "demo_text": "ça va ✓", "demo_len": None}
    text = sharing.export_json(
        SPEC,
        settings,
        {"demo_x": (X, ["x1", "x2", "x3"], ["d1", "d2", "d3", "d4"])},
        {"weights": (np.array([[1.0, -np.inf], [0.5, 0.5]]), ["a", "b"], ["a", "b"]), "heads": np.ones((2, 2, 3))},
    )
    doc = json.loads(text)
    assert doc["format"] == "attnviz-state" and doc["page"] == "demo"
    assert doc["computed"]["weights"]["values"] == [[1.0, None], [0.5, 0.5]]
    assert doc["computed"]["heads"]["shape"] == [2, 2, 3]
    decoded = sharing.import_json(SPEC, text.encode())
    assert decoded.problems == []
    assert decoded.settings == settings
    np.testing.assert_array_equal(decoded.matrices["demo_x"], X)


def _doc(**changes) -> str:
    doc = json.loads(sharing.export_json(SPEC, SPEC.defaults, {"demo_x": (X, None, None)}, {}))
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return json.dumps(doc)


REJECTED = [
    ("{not json", "the file is not JSON"),
    (json.dumps([1, 2]), "is not an attnviz state"),
    (_doc(format="other"), "is not an attnviz state"),
    (_doc(version=7), "version 7 is not supported"),
    (_doc(page="tokens"), "from the page 'tokens', not 'demo'"),
    (_doc(settings=[1]), '"settings" must be an object'),
    (_doc(settings={"demo_t": "3"}), "setting 'demo_t': '3' is not a whole number"),
    (_doc(settings={"demo_t": 3.5}), "setting 'demo_t': 3.5 is not a whole number"),
    (_doc(settings={"demo_t": True}), "True is not a whole number"),
    (_doc(settings={"demo_causal": 1}), "1 is not true or false"),
    (_doc(settings={"evil": 1}), "setting 'evil': this page has no such setting"),
    (_doc(matrices={"demo_x": {"values": [[1, 2, 3, 4]]}}), "matrix 'demo_x' is 1×4; the settings make it 3×4"),
    (_doc(matrices={"demo_x": {"values": [[1, 2, 3, "a"]] * 3}}), "column 4: 'a' is not a finite number"),
    (_doc(matrices={"demo_x": {"values": [[1, 2, 3, None]] * 3}}), "column 4: None is not a finite number"),
    (_doc(matrices={"demo_x": [[1]]}), 'must be an object with a list of rows under "values"'),
    (_doc(matrices={"other": {"values": [[1]]}}), "matrix 'other': this page has no such matrix"),
    (_doc(settings={"demo_t": 2}), "matrix 'demo_x' is 3×4; the settings make it 2×4"),
    ('{"format": "attnviz-state", "pad": "' + "x" * 1_000_001 + '"}', "more than 1,000,000"),
]


@pytest.mark.parametrize(("text", "named"), REJECTED)
def test_a_bad_json_file_is_refused_whole(text, named):
    decoded = sharing.import_json(SPEC, text)
    assert any(named in p for p in decoded.problems), decoded.problems
    assert decoded.settings == {} and decoded.matrices == {}


def test_json_nan_in_values_is_refused():
    # Python's json reads NaN and Infinity; the import names them.
    doc = json.loads(_doc())
    doc["matrices"]["demo_x"]["values"][1][2] = float("nan")
    decoded = sharing.import_json(SPEC, json.dumps(doc))
    assert decoded.problems == ["matrix 'demo_x' row 2, column 3: nan is not a finite number"]


def test_csv_round_trip_uses_the_labels_shown():
    rows, cols = ["x1", "x2", "x3"], ["d1", "d2", "d3", "d4"]
    y = X + 0.1
    text = sharing.matrix_csv(y, rows, cols)
    assert text.splitlines()[0] == ",d1,d2,d3,d4"
    assert text.splitlines()[1].startswith("x1,1.1,0.1,")
    matrix, problems = sharing.parse_csv("X", text.encode("utf-8-sig"), rows, cols)
    assert problems == []
    np.testing.assert_array_equal(matrix, y)
    masked = sharing.matrix_csv(np.array([[1.0, -np.inf]]), ["a"], ["a", "b"])
    assert masked.splitlines()[1] == "a,1.0,"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "the file is empty"),
        (",d2,d1\nx1,1,2\nx2,3,4\n", "the header must be a blank cell and the columns d1, d2"),
        (",d1,d2\nx1,1,2\n", "X has 2 rows; the file has 1"),
        (",d1,d2\nx1,1,2\nx9,3,4\n", "row 2 must start with 'x2'"),
        (",d1,d2\nx1,1,2\nx2,3\n", "row 2 must start with 'x2' and hold 2 values"),
        (",d1,d2\nx1,1,abc\nx2,3,4\n", "row 'x1', column 'd2': 'abc' is not a finite number"),
        (",d1,d2\nx1,1,nan\nx2,3,inf\n", "'nan' is not a finite number"),
        (",d1,d2\n" + "x1,1,2\n" * 200_000, "more than 1,000,000"),
    ],
)
def test_a_bad_csv_is_refused(text, named):
    matrix, problems = sharing.parse_csv("X", text, ["x1", "x2"], ["d1", "d2"])
    assert matrix is None
    assert any(named in p for p in problems), problems


def test_csv_not_utf8():
    matrix, problems = sharing.parse_csv("X", b"\xff\xfe\x00bad", ["x1"], ["d1"])
    assert matrix is None and problems == ["the file is not UTF-8 text"]


def test_spec_checks_itself():
    with pytest.raises(ValueError, match="repeats a key"):
        StateSpec("p", (Int("p_a", 1), Int("p_a", 2)))
    with pytest.raises(ValueError, match="'p_rows', which is not a field"):
        StateSpec("p", (Int("p_a", 1),), (MatrixField("p_m", "p_rows", 2),))
    with pytest.raises(ValueError, match="repeated codes"):
        Choice("p_c", "A (x)", options=("A (x)", "A (y)"))


def test_unshareable_names_what_the_address_leaves_out():
    assert sharing.unshareable(SPEC, {"demo_text": "x" * 101, "demo_t": 3}) == [
        "demo_text: the text has 101 characters, more than 100"
    ]
    assert sharing.encode_query(SPEC, {"demo_text": "x" * 101}) == {}


# ------------------------------------------------------------------------------------------- a number from a list

STOPS = NumberChoice("x_d_k", 64, options=tuple(2**i for i in range(11)))
TAUS = NumberChoice("x_tau", 1.0, options=(0.05, 0.1, 1.0, 2.0, 20.0))


def test_a_number_from_a_list_round_trips_and_keeps_its_type():
    spec = StateSpec("x", (STOPS, TAUS))
    params = sharing.encode_query(spec, {"x_d_k": 256, "x_tau": 0.05})
    assert params == {"x_d_k": "256", "x_tau": "0.05"}
    decoded = sharing.decode_query(spec, params)
    assert decoded.settings == {"x_d_k": 256, "x_tau": 0.05} and not decoded.problems
    assert type(decoded.settings["x_d_k"]) is int
    assert STOPS.parse("2.56e2") == 256 and STOPS.parse("256.0") == 256
    assert TAUS.parse("1") == 1.0 and type(TAUS.parse("1")) is float
    assert sharing.encode_query(spec, {"x_d_k": 64, "x_tau": 1.0}) == {}  # the defaults: a bare address


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("3", "3 is not one of 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024"),
        ("nan", "'nan' is not a number"),
        ("inf", "'inf' is not a number"),
        ("1e999", "is not one of"),
        ("", "'' is not a number"),
        ("0x10", "'0x10' is not a number"),
        ("9" * 50, "is not a number"),
    ],
)
def test_a_number_not_in_the_list_is_named(text, named):
    decoded = sharing.decode_query(StateSpec("x", (STOPS,)), {"x_d_k": text})
    assert decoded.settings == {}
    assert len(decoded.problems) == 1 and named in decoded.problems[0], decoded.problems
    assert decoded.problems[0].startswith("URL parameter 'x_d_k' ignored: ")


def test_a_number_from_a_list_in_json():
    assert STOPS.check(1024.0) == 1024
    for bad, named in ((True, "True is not a number"), ("64", "'64' is not a number"), (0.5, "0.5 is not one of")):
        with pytest.raises(ValueError, match=named):
            STOPS.check(bad)


@pytest.mark.parametrize("options", [(), (1, 1), (1.0, math.nan), (True, 2), ("a",)])
def test_a_number_list_must_be_distinct_finite_numbers(options):
    with pytest.raises(ValueError, match="NumberChoice 'k': options must be"):
        NumberChoice("k", 1, options=options)


def test_a_choice_reads_the_codes_an_older_version_wrote_for_its_options():
    labels = {"none": "None", "padding, one length": "Padding: one valid length", "seed": "full size {widths}"}
    field = Choice("mask", "none", options=tuple(labels), aliases=sharing.label_aliases(labels, widths=(8, 16)))
    assert dict(field.aliases) == {
        "padding-one-valid-length": "padding, one length",
        "full-size": "seed",
    }  # a code ends before " ("
    assert field.parse("padding-one-valid-length") == "padding, one length"  # an old link
    assert field.parse("padding-one-length") == "padding, one length"  # today's code
    assert field.text("padding, one length") == "padding-one-length"  # what the address is written with now
    with pytest.raises(ValueError, match="padding-two"):
        field.parse("padding-two")


def test_an_alias_that_clashes_with_a_code_or_names_no_option_is_refused():
    with pytest.raises(ValueError, match="alias"):
        Choice("k", "a", options=("a", "b"), aliases=(("b", "a"),))
    with pytest.raises(ValueError, match="alias"):
        Choice("k", "a", options=("a", "b"), aliases=(("old", "c"),))

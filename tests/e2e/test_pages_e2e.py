"""Every page in a real browser: it loads cleanly, its charts are drawn, and real interactions work."""

from __future__ import annotations

import pytest

from tests.support.browser import (
    PLOTLY_CHART,
    PLOTLY_SVG,
    axis_labels,
    choose_option,
    edit_cell,
    figure_titled,
    load,
    open_tab,
    plotly_figures,
    set_text,
    settle,
)

pytestmark = pytest.mark.e2e

PAGES = ["", "Worked_example", "Tokens", "Multi-head", "Positional_encoding"]


def assert_clean(page, console_errors) -> None:
    exceptions = page.locator("[data-testid=stException]")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert console_errors.errors == []


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "home")
def test_page_loads_clean(page, console_errors, app_url, path):
    load(page, f"{app_url}/{path}", charts=bool(path))
    page.wait_for_timeout(500)  # late console errors (lazy chunks, plotly) arrive after the first paint
    assert_clean(page, console_errors)
    if path:
        charts = page.locator(PLOTLY_CHART)
        assert charts.count() > 0
        assert page.locator(PLOTLY_SVG).count() >= charts.count(), "a plotly chart element holds no drawn plot"
    else:
        # The home page has no charts: it links every page.
        links = page.locator("[data-testid=stPageLink]")
        assert links.count() >= 4


def test_worked_example_cell_edit_updates_scores(page, console_errors, app_url):
    load(page, f"{app_url}/Worked_example")
    before = figure_titled(page, "scores")["z"][0]

    edit_cell(page, "worked_x", row=0, column=1, value="7.25")
    settle(page)

    after = figure_titled(page, "scores")["z"][0]
    assert after != before, "the scores heatmap did not change after editing X"
    assert_clean(page, console_errors)


def test_tokens_sentence_relabels_axes(page, console_errors, app_url):
    load(page, f"{app_url}/Tokens")
    before = axis_labels(figure_titled(page, "scores"))

    set_text(page, "tokens_text", "the quick brown fox jumps")
    settle(page)

    after = axis_labels(figure_titled(page, "scores"))
    assert after != before
    assert len(after) == 5, after
    assert any("fox" in str(label) for label in after), after
    assert_clean(page, console_errors)


def test_multihead_head_count_changes_panels(page, console_errors, app_url):
    load(page, f"{app_url}/Multi-head")
    before = figure_titled(page, "scaled scores")["traces"]
    target = 2 if before != 2 else 4

    choose_option(page, "mh_heads", str(target))
    settle(page)

    after = figure_titled(page, "scaled scores")["traces"]
    assert after == target, f"{after} per-head panels after choosing {target} heads (was {before})"
    assert_clean(page, console_errors)


def test_multihead_tabs_draw_only_the_open_view(page, console_errors, app_url):
    load(page, f"{app_url}/Multi-head")

    def titles() -> list[str]:
        return [f["title"] or "" for f in plotly_figures(page)]

    def shown(start: str) -> bool:
        return any(t.startswith(start) for t in titles())

    assert shown("weights softmax") and shown("head outputs")
    assert not shown("mean of the heads") and not shown("output = concat")

    open_tab(page, "Mean over heads")
    settle(page)
    assert shown("mean of the heads") and not shown("weights softmax"), titles()

    open_tab(page, "After W_O")
    settle(page)
    assert shown("output = concat") and not shown("head outputs"), titles()
    assert shown("mean of the heads")  # the other tab group kept its choice
    assert_clean(page, console_errors)


def test_positional_odd_d_model(page, console_errors, app_url):
    load(page, f"{app_url}/Positional_encoding")

    set_text(page, "pe_d_model", "9")
    settle(page)

    pe = figure_titled(page, "PE (")
    assert len(axis_labels(pe)) == 9
    assert_clean(page, console_errors)

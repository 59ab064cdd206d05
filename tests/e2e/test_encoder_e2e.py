"""The Encoder page in a real browser: the model view draws, a click on a cell opens that head, the head view
draws lines and hovering a token keeps only its lines."""

from __future__ import annotations

import pytest

from tests.support.browser import arm_rerun, load, wait_idle

pytestmark = pytest.mark.e2e

MODEL_VIEW = ".st-key-encoder_model_view .js-plotly-plot"


def model_view(page) -> dict:
    """The drawn model view: its geometry and the panels its click layer names."""
    return page.evaluate(
        """(selector) => {
          const gd = document.querySelector(selector);
          return {meta: gd.layout.meta, panels: gd.data[1].text};
        }""",
        MODEL_VIEW,
    )


def click_panel(page, layer: int, head: int) -> None:
    """Click the centre of the (layer, head) cell of the model view (the transparent click layer's marker)."""
    point = page.evaluate(
        """([selector, layer, head]) => {
          const gd = document.querySelector(selector);
          const box = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
          const markers = gd.data[1];
          const i = markers.customdata.findIndex((c) => c[0] === layer && c[1] === head);
          return [box.left + xa._offset + xa.l2p(markers.x[i]), box.top + ya._offset + ya.l2p(markers.y[i])];
        }""",
        [MODEL_VIEW, layer, head],
    )
    arm_rerun(page)
    page.mouse.click(*point)
    wait_idle(page, 120_000)


def test_model_view_draws_and_a_click_opens_a_head(page, console_errors, app_url):
    load(page, f"{app_url}/Encoder", timeout=180_000)
    assert model_view(page)["panels"] == [f"layer {layer} head {head}" for layer in range(2) for head in range(4)]
    assert page.locator(f"{MODEL_VIEW} .heatmaplayer image").count() == 1  # one image holds every panel
    assert "Verified against PyTorch" in page.locator("[data-testid=stAlertContentSuccess]").first.inner_text()

    click_panel(page, 1, 2)
    expander = page.locator(".st-key-encoder_open_panel summary")
    assert "Layer 1, head 2" in expander.inner_text()  # the click opened that head at full size
    page.wait_for_function(
        """() => [...document.querySelectorAll('.js-plotly-plot')].some(
              (gd) => (gd.layout.title && gd.layout.title.text || '').startsWith('layer 1 head 2'))""",
        timeout=60_000,
    )
    arm_rerun(page)
    page.locator(".st-key-encoder_open_head_view summary").click()
    wait_idle(page, 120_000)
    view = page.locator(".attnviz-hv")
    view.wait_for(timeout=60_000)
    all_lines = int(view.get_attribute("data-lines"))
    assert all_lines > 0
    page.hover(".attnviz-hv text[data-side=q][data-index='3']")
    page.wait_for_function("(n) => document.querySelector('.attnviz-hv').dataset.lines !== String(n)", arg=all_lines)
    focused = int(view.get_attribute("data-lines"))
    assert 0 < focused <= 4 * 11 < all_lines  # one query's lines: at most heads × tokens
    exceptions = page.locator("[data-testid=stException]")
    assert exceptions.count() == 0
    assert console_errors.errors == []

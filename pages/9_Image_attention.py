"""Attention over an image: seed 003's CNN attends over its 20 × 20 feature map; click a patch to see where it looks."""

import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.i18n import gettext as _
from attnviz.image.figures import attention_overlay_figure, probability_figure
from attnviz.image.views import map_sentence, overlay_caption, prediction_sentence
from attnviz.ui import image as page
from attnviz.ui import share
from attnviz.ui.cache import figure
from attnviz.ui.render import KEPT, last_good, page_nav, show_figure, show_problems, step

st.set_page_config(page_title=_("Image attention · attnviz"), page_icon="🔎", layout="wide")
page_nav()

st.title(_("Attention over an image"))
st.markdown(
    _(
        "The tutorial's last model puts multi-head self-attention on a CNN: five convolution blocks turn a 112 × 112 "
        "image into a 20 × 20 grid of feature vectors, the 400 grid positions attend to each other as if they were 400 "
        "tokens, and one linear layer reads the result. Here it learns to tell four shapes apart — circle, square, "
        "triangle, cross — drawn in random sizes, colours and places on a noisy background. **Click a cell** of the "
        "image to see where that patch looks, in the untrained model and, once you have trained it (step 3), in the "
        "trained one."
    )
)
share.restore(page.SHARE)
with st.sidebar:
    settings = page.controls()
refused = show_problems(settings.problems, kept=KEPT)
if settings.source == page.SOURCES[1] and settings.upload is None:
    st.info(
        _(
            "Upload a PNG or JPEG (at most 1 MB) in the sidebar; until then a generated image is shown. Your image "
            "stays in this browser session: the address keeps only the settings, so whoever opens a copied link "
            "uploads their own."
        ),
        icon="📤",
    )
choice = last_good("img_last_image", None if refused else lambda: page.current_image(settings))
if choice is None:
    st.stop()
view = last_good("img_last_view", lambda: page.view(choice, page.models(settings), settings))
if view is None:
    st.stop()

if view.label:
    about = _("Generated image {index}, a **{shape}**.").format(index=choice.name, shape=_(view.label))
else:
    about = _("Your image `{name}`.").format(name=choice.name.replace("`", "'"))
cells = _(
    "Each cell is one position of the 20 × 20 feature map. A position sees a 34 × 34-pixel window of the "
    "image and the windows' centres are 4 pixels apart, so the cells are 4 pixels wide; the outer cells also take "
    "the border, which no window is centred on."
)
outline = (
    _("The query cell is outlined in cyan; a dotted box frames the shape.")
    if choice.mask is not None
    else _("The query cell is outlined in cyan.")
)
step(
    1,
    _("The image and its 400 positions"),
    _("{about} {cells} {outline}").format(about=about, cells=cells, outline=outline),
)
left, right = st.columns(2, gap="medium")
with left:
    page.grid_chart(view, choice.mask)
with right:
    names = [m.name for m in view.models]
    probabilities = [m.probabilities for m in view.models]
    classes = [_(name) for name in view.class_names]
    show_figure(figure(probability_figure, classes, probabilities, names), key="img_fig_probs")
    st.markdown(prediction_sentence(view))

query = settings.map_kind == "query"
step(
    2,
    _("Where position (row {row}, col {col}) looks").format(row=view.row, col=view.col)
    if query
    else _("Which positions receive attention"),
    map_sentence(view, settings.map_kind),
)
page.step_picker(settings)
overlays = [m.overlay if query else m.received_overlay for m in view.models]
box = view.query_box if query else None
fig = figure(attention_overlay_figure, view.image, overlays, names, view.panel_titles, query_box=box)
show_figure(fig, key="img_fig_overlay")
st.caption(overlay_caption(view, settings.map_kind))
if len(view.models) == 1:
    st.info(
        _("Train the model in step 3: the trained model's attention then appears under the untrained one."), icon="ℹ️"
    )

step(
    3,
    _("Train it on the generated shapes"),
    _(
        "Adam and cross-entropy as in the tutorial, on {train:,} generated images, scored on "
        "{test:,} held-out ones after every epoch. Training runs in the background on one CPU thread: keep "
        "clicking around while it runs. Measured with the default small model and 4 epochs: 97 % held-out accuracy "
        "after 750 steps and 99.7 % after 1,000, in about 95 s of CPU time. The loss first sits at ln 4 ≈ 1.39 "
        "(guessing among four classes) for a few hundred steps before the network finds the shapes."
    ).format(train=page.TRAIN_IMAGES, test=page.TEST_IMAGES),
)
page.training_controls()
page.training_panel()

step(4, _("From 112 × 112 pixels to 400 tokens"), _(page.SIZE_EXPLANATION))
st.table(page.layer_table(settings.widths))
st.markdown(page.size_sentence(settings.widths))

# the settings (never an uploaded image) in the address; a trained step applies once a session trains that model.
# Exports: the shown maps and probabilities as CSV; the JSON adds the untrained model's tokens and attention weights.
share.panel(page.SHARE, **page.shared_state(choice, view, settings))

"""Attention over an image: seed 003's CNN attends over its 20 × 20 feature map; click a patch to see where it looks."""

import streamlit as st

from attnviz.image.figures import attention_overlay_figure, probability_figure
from attnviz.image.views import map_sentence, overlay_caption, prediction_sentence
from attnviz.ui import image as page
from attnviz.ui import share
from attnviz.ui.cache import figure
from attnviz.ui.render import KEPT, last_good, page_nav, show_figure, show_problems, step

st.set_page_config(page_title="Image attention · attnviz", page_icon="🔎", layout="wide")
page_nav()

st.title("Attention over an image")
st.markdown(
    "The tutorial's last model puts multi-head self-attention on a CNN: five convolution blocks turn a 112 × 112 "
    "image into a 20 × 20 grid of feature vectors, the 400 grid positions attend to each other as if they were 400 "
    "tokens, and one linear layer reads the result. Here it learns to tell four shapes apart — circle, square, "
    "triangle, cross — drawn in random sizes, colours and places on a noisy background. **Click a cell** of the "
    "image to see where that patch looks, in the untrained model and, once you have trained it (step 3), in the "
    "trained one."
)
share.restore(page.SHARE)
with st.sidebar:
    settings = page.controls()
refused = show_problems(settings.problems, kept=KEPT)
if settings.source == page.SOURCES[1] and settings.upload is None:
    st.info(
        "Upload a PNG or JPEG (at most 1 MB) in the sidebar; until then a generated image is shown. Your image "
        "stays in this browser session: the address keeps only the settings, so whoever opens a copied link "
        "uploads their own.",
        icon="📤",
    )
choice = last_good("img_last_image", None if refused else lambda: page.current_image(settings))
if choice is None:
    st.stop()
view = last_good("img_last_view", lambda: page.view(choice, page.models(settings), settings))
if view is None:
    st.stop()

about = f"{choice.name[0].upper()}{choice.name[1:]}" + (f", a **{view.label}**" if view.label else "")
step(
    1,
    "The image and its 400 positions",
    f"{about}. Each cell is one position of the 20 × 20 feature map. A position sees a 34 × 34-pixel window of the "
    "image and the windows' centres are 4 pixels apart, so the cells are 4 pixels wide; the outer cells also take "
    "the border, which no window is centred on. The query cell is outlined in cyan"
    + ("; a dotted box frames the shape." if choice.mask is not None else "."),
)
left, right = st.columns(2, gap="medium")
with left:
    page.grid_chart(view, choice.mask)
with right:
    names = [m.name for m in view.models]
    probabilities = [m.probabilities for m in view.models]
    show_figure(figure(probability_figure, view.class_names, probabilities, names), key="img_fig_probs")
    st.markdown(prediction_sentence(view))

query = settings.map_kind == "query"
step(
    2,
    f"Where position (row {view.row}, col {view.col}) looks" if query else "Which positions receive attention",
    map_sentence(view, settings.map_kind),
)
page.step_picker(settings)
overlays = [m.overlay if query else m.received_overlay for m in view.models]
box = view.query_box if query else None
fig = figure(attention_overlay_figure, view.image, overlays, names, view.panel_titles, query_box=box)
show_figure(fig, key="img_fig_overlay")
st.caption(overlay_caption(view, settings.map_kind))
if len(view.models) == 1:
    st.info("Train the model in step 3: the trained model's attention then appears under the untrained one.", icon="ℹ️")

step(
    3,
    "Train it on the generated shapes",
    f"Adam and cross-entropy as in the tutorial, on {page.TRAIN_IMAGES:,} generated images, scored on "
    f"{page.TEST_IMAGES:,} held-out ones after every epoch. Training runs in the background on one CPU thread: keep "
    "clicking around while it runs. Measured with the default small model and 4 epochs: 97 % held-out accuracy "
    "after 750 steps and 99.7 % after 1,000, in about 95 s of CPU time. The loss first sits at ln 4 ≈ 1.39 "
    "(guessing among four classes) for a few hundred steps before the network finds the shapes.",
)
page.training_controls()
page.training_panel()

step(4, "From 112 × 112 pixels to 400 tokens", page.SIZE_EXPLANATION)
st.table(page.layer_table(settings.widths))
st.markdown(page.size_sentence(settings.widths))

# the settings (never an uploaded image) in the address; a trained step applies once a session trains that model.
# Exports: the shown maps and probabilities as CSV; the JSON adds the untrained model's tokens and attention weights.
share.panel(page.SHARE, **page.shared_state(choice, view, settings))

"""The package's public names load on first use, so the light modules do not import torch."""

import subprocess
import sys

import pytest

import attnviz


def test_every_public_name_resolves_to_its_module():
    for name in attnviz.__all__:
        value = getattr(attnviz, name)
        assert value is getattr(sys.modules[f"attnviz.{attnviz._HOME[name]}"], name)
    assert set(attnviz.__all__) == set(attnviz._HOME)
    assert set(attnviz.__all__) <= set(dir(attnviz))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        attnviz.nope  # noqa: B018


def test_tables_figures_and_explanations_load_without_torch():
    # A page can draw its tables while torch is still being imported for the computation.
    code = (
        "import sys\n"
        "import attnviz, attnviz.validation, attnviz.examples, attnviz.figures, attnviz.explain\n"
        "import attnviz.ui.matrix_editor, attnviz.ui.render\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "from attnviz import attend\n"
        "assert 'torch' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)

"""Settings survive a visit to another page (Streamlit forgets widgets a run does not draw)."""

from streamlit.testing.v1 import AppTest

from tests.pages.conftest import ROOT, TIMEOUT


def test_sentence_and_settings_survive_a_round_trip_through_other_pages():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/2_Tokens.py").run()
    at.text_area(key="tokens_text").set_value("a cat saw a dog").run()
    at.switch_page("pages/1_Worked_example.py").run()
    at.checkbox(key="worked_causal").check().run()
    at.switch_page("pages/3_Multi-head.py").run()
    assert not at.exception
    assert at.session_state["tokens_text"] == "a cat saw a dog"
    at.switch_page("pages/2_Tokens.py").run()
    assert at.text_area(key="tokens_text").value == "a cat saw a dog"
    at.switch_page("pages/1_Worked_example.py").run()
    assert at.checkbox(key="worked_causal").value is True
    assert not at.exception

"""Test and benchmark support: ``server`` (a Streamlit server of our own on a free port, health polling) and
``browser`` (Debian's Chromium through Playwright, and the waits for a rerun to finish and the page to paint)."""

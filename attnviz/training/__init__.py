"""Train a tiny transformer on toy tasks and record how its attention forms (pure torch, no streamlit)."""

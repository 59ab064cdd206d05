"""The streamlit side of attnviz: widgets and rendering helpers shared by the pages."""

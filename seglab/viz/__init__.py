"""Charts as plain functions returning Altair charts or SVG (no Streamlit)."""

"""Streamlit-facing helpers: charts, image grids and widgets shared by the pages.

This is the only part of the package that imports Streamlit.
"""

"""Computations behind the teaching pages (Home, Basics, Loss lab).

Plain functions, numpy in and out, no Streamlit: the pages only lay out widgets and call
these, and the tests check them directly. Each function says what it shows and why.
"""

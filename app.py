"""SegLab entry point: `streamlit run app.py`.

Declares the pages and the shared sidebar; each page script in `pages/` stays thin and calls
into the `seglab` library.
"""

import streamlit as st

from seglab.ui.common import render_sidebar

st.set_page_config(page_title="SegLab", page_icon="🧩", layout="wide")

PAGES = {
    "Learn": [
        st.Page("pages/home.py", title="Home", icon="🏠", default=True),
        st.Page("pages/basics.py", title="Basics", icon="🧩"),
        st.Page("pages/loss_lab.py", title="Loss lab", icon="📉"),
        st.Page("pages/metrics_lab.py", title="Metrics lab (IoU)", icon="🎯"),
        st.Page("pages/architectures.py", title="Architectures", icon="🏗️"),
        st.Page("pages/data.py", title="Data", icon="🗂️"),
    ],
    "Experiment": [
        st.Page("pages/train.py", title="Train", icon="🏋️"),
        st.Page("pages/results.py", title="Results", icon="📊"),
    ],
}

page = st.navigation(PAGES)
render_sidebar()
page.run()

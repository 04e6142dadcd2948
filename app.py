"""SegLab entry point: `streamlit run app.py`.

Declares the pages and the shared sidebar; each page script in `pages/` stays thin and calls
into the `seglab` library.
"""

from pathlib import Path

import streamlit as st

from seglab.ui.browser import install_history_policy
from seglab.ui.common import render_footer, render_sidebar

ASSETS = Path(__file__).resolve().parent / "assets"

# A local icon file: a Material icon as favicon would be fetched from fonts.gstatic.com, which a
# classroom without internet cannot reach.
st.set_page_config(page_title="SegLab", page_icon=str(ASSETS / "favicon.png"), layout="wide")

PAGES = {
    "Learn": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/basics.py", title="Basics", icon=":material/grid_on:"),
        st.Page("pages/loss_lab.py", title="Loss lab", icon=":material/trending_down:"),
        st.Page("pages/metrics_lab.py", title="Metrics lab (IoU)", icon=":material/target:"),
        st.Page("pages/architectures.py", title="Architectures", icon=":material/account_tree:"),
        st.Page("pages/data.py", title="Data", icon=":material/folder_open:"),
    ],
    "Experiment": [
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/results.py", title="Results", icon=":material/bar_chart:"),
    ],
}

page = st.navigation(PAGES)
render_sidebar()
install_history_policy()
page.run()
render_footer()  # pages that end early call seglab.ui.common.stop_page(), which draws it too

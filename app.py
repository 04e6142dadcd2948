"""SegLab entry point: `streamlit run app.py`.

Declares the pages and the shared sidebar; each page script in `app_pages/` stays thin and calls
into the `seglab` library. (The folder is not called `pages/`: Streamlit would treat that name
as its legacy multipage mode and run a deep-linked page without this file.)
"""

from pathlib import Path

import streamlit as st

from seglab.errors import DiskFullError
from seglab.ui.browser import install_history_policy
from seglab.ui.classroom import classroom_mode, report_page_error
from seglab.ui.classroom_sidebar import classroom_sidebar
from seglab.ui.common import render_footer, render_sidebar
from seglab.ui.url_guard import guard_query_params

ASSETS = Path(__file__).resolve().parent / "assets"

# A local icon file: a Material icon as favicon would be fetched from fonts.gstatic.com, which a
# classroom without internet cannot reach.
st.set_page_config(page_title="SegLab", page_icon=str(ASSETS / "favicon.png"), layout="wide")

PAGES = {
    "Learn": [
        st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("app_pages/basics.py", title="Basics", icon=":material/grid_on:"),
        st.Page("app_pages/loss_lab.py", title="Loss lab", icon=":material/trending_down:"),
        st.Page("app_pages/metrics_lab.py", title="Metrics lab (IoU)", icon=":material/target:"),
        st.Page("app_pages/architectures.py", title="Architectures", icon=":material/account_tree:"),
        st.Page("app_pages/data.py", title="Data", icon=":material/folder_open:"),
    ],
    "Experiment": [
        st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("app_pages/results.py", title="Results", icon=":material/bar_chart:"),
        st.Page("app_pages/inside.py", title="Inside", icon=":material/visibility:"),
    ],
}

page = st.navigation(PAGES)
guard_query_params()  # junk values in a link are dropped before any widget reads them
classroom = classroom_mode()
if classroom:
    st.set_option("client.showErrorDetails", "none")  # students never see a traceback
with st.sidebar:
    classroom_sidebar()  # classroom mode only: the student's name, the teacher's unlock
render_sidebar()
install_history_policy()
try:
    page.run()
except DiskFullError as exc:  # not a bug: one plain sentence for everyone, in every mode
    st.error(str(exc)[:1].upper() + str(exc)[1:])
except Exception:  # Streamlit's stop/rerun signals are BaseExceptions and pass through
    if not classroom:
        raise
    report_page_error(page.title)
render_footer()  # pages that end early call seglab.ui.common.stop_page(), which draws it too

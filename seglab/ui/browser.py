"""What the app asks of the browser itself: one history entry per page visit, and page-wide CSS.

Streamlit's frontend pushes a new browser-history entry whenever the server changes the URL's
query string (``st.query_params`` writes, and its clean-up of a previous page's parameters
after a page switch). Widgets bound with ``bind="query-params"`` already *replace* the URL, but
those server-side changes would still leave extra entries behind, so Back would need several
presses to leave a page. :func:`install_history_policy` adds a few lines of JavaScript to the
page that turn a push which only changes the query string (same path) into a replace; a page
switch (a new path) still pushes, so Back goes to the previous page in one press.

Leaving a page has one more trap: Streamlit clears the old page's bound parameters (its own
clean-up, sent by the server) *before* it pushes the new page's address, so the entry Back
returns to would lose its query string (Loss lab ``?gamma=3`` came back as bare ``/loss_lab``).
The script therefore remembers the address at the moment a link to another page is followed
(a plain left click or Enter on a same-origin link) and, when the new page's address is pushed,
first puts that remembered address back on the entry being left.
"""

from __future__ import annotations

import streamlit as st

HISTORY_KEY = "seglab-history-policy"

# Runs in the app's own document (st.html with JavaScript allowed); installed once per page load.
_HISTORY_SCRIPT = """
<script>
(() => {
  if (window.__seglabHistoryPolicy) return;
  window.__seglabHistoryPolicy = true;
  const push = window.history.pushState.bind(window.history);
  const replace = window.history.replaceState.bind(window.history);
  let leaving = null;  // {href, at}: the address when a link to another page was followed
  const remember = (event) => {
    if (event.defaultPrevented || event.button > 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;  // new tab
    if (event.type === "keydown" && event.key !== "Enter") return;
    const link = event.target.closest && event.target.closest("a[href]");
    if (!link) return;
    const target = new URL(link.href, window.location.href);
    if (target.origin !== window.location.origin) return;
    if (target.pathname === window.location.pathname) return;
    leaving = {href: window.location.href, at: Date.now()};
  };
  document.addEventListener("click", remember, true);
  document.addEventListener("keydown", remember, true);
  window.history.pushState = (state, unused, url) => {
    const target = url === undefined || url === null ? null : new URL(url, window.location.href);
    if (target && target.pathname === window.location.pathname) {
      return replace(state, unused, url);  // same page, new parameters: rewrite, do not stack
    }
    const left = leaving;
    leaving = null;
    if (left && Date.now() - left.at < 30000) {
      const before = new URL(left.href);
      if (before.pathname === window.location.pathname && before.href !== window.location.href) {
        replace(window.history.state, "", before.href);  // the entry Back returns to keeps its view
      }
    }
    return push(state, unused, url);
  };
})();
</script>
"""


def install_history_policy() -> None:
    """Make URL-parameter changes replace the current history entry (see module docstring).

    Drawn in a hidden container at the end of the sidebar, once per script run; the script
    itself guards against installing twice.
    """
    st.html(f"<style>.st-key-{HISTORY_KEY} {{ display: none; }}</style>")
    with st.sidebar.container(key=HISTORY_KEY):
        st.html(_HISTORY_SCRIPT, unsafe_allow_javascript=True)

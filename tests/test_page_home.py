"""Home page (AppTest): runs clean alone and inside the app, with links to every page."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# every page the app navigates to, in app.py's order, except Home itself
PAGES = [
    name
    for name in re.findall(r'st\.Page\("app_pages/(\w+)\.py"', (ROOT / "app.py").read_text())
    if name != "home"
]


def test_home_runs_alone() -> None:
    at = AppTest.from_file(str(ROOT / "app_pages" / "home.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len([c for image in at.image for c in image.captions]) == 4  # the generated examples
    assert any("lesson plan" in h.value for h in at.header)
    text = " ".join(m.value for m in at.markdown)
    for name in ("Basics", "Loss lab", "Results"):
        assert name in text  # page names still listed when links cannot be resolved


def test_home_inside_the_app_links_to_every_page() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [link.proto.page for link in at.page_link] == PAGES

"""A browser-less session on a running SegLab server: Streamlit's own websocket protocol.

What a browser does on a page load or a widget move, without the browser: send a
``rerun_script`` message (with the moved widget's new value, and the fragment it lives in),
then read the page's messages until ``script_finished``. Used by ``benchmarks/bench_load.py``
(30 students on one server) and by tests that check what a move resends.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

FINISHED_OK = (0, 3)  # ScriptFinishedStatus: FINISHED_SUCCESSFULLY, FINISHED_FRAGMENT_RUN_SUCCESSFULLY


@dataclass
class Reply:
    """What the server sent for one rerun: seconds until ``script_finished``, and each element
    as (delta path, element type, the element's proto)."""

    seconds: float
    elements: list[tuple[tuple[int, ...], str, Any]] = field(default_factory=list)
    blocks: int = 0

    def of_type(self, kind: str) -> list[Any]:
        return [proto for _, k, proto in self.elements if k == kind]


class SocketSession:
    """One session on the app at ``url``; remembers the page's sliders (label → widget id,
    fragment id, integer?) so that :meth:`move` can send a slider move as the browser does."""

    def __init__(self, url: str, page: str) -> None:
        from websockets.sync.client import connect

        self.page = page
        self._open = contextlib.ExitStack()  # closed in close()
        self.ws = self._open.enter_context(
            connect(
                url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"], max_size=None
            )
        )
        self.sliders: dict[str, tuple[str, str, bool]] = {}

    def run(self, widget: Any = None, fragment: str = "") -> Reply:
        """Send one rerun (a page load, or a moved widget) and read until its end. A page that
        raises is an error here (its exception element would otherwise look like a fast run)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.page_name = self.page
        if widget is not None:
            msg.rerun_script.widget_states.widgets.append(widget)
        msg.rerun_script.fragment_id = fragment
        start = time.perf_counter()
        self.ws.send(msg.SerializeToString())
        reply = Reply(0.0)
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(self.ws.recv())
            kind = forward.WhichOneof("type")
            if kind == "delta" and forward.delta.WhichOneof("type") == "add_block":
                reply.blocks += 1
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                element_type = element.WhichOneof("type")
                if element_type == "exception":
                    raise RuntimeError(
                        f"{self.page} raised {element.exception.type}: {element.exception.message}"
                    )
                proto = getattr(element, element_type)
                reply.elements.append((tuple(forward.metadata.delta_path), element_type, proto))
                if element_type == "slider":
                    self.sliders[proto.label] = (
                        proto.id,
                        forward.delta.fragment_id,
                        proto.data_type == proto.INT,
                    )
            elif kind == "script_finished" and forward.script_finished in FINISHED_OK:
                reply.seconds = time.perf_counter() - start
                return reply

    def move(self, label: str, value: float) -> Reply:
        """Move the slider labelled ``label`` to ``value``, as a fragment rerun where it lives in one."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget_id, fragment, is_int = self.sliders[label]
        state = WidgetState(id=widget_id)
        state.double_array_value.data.append(int(value) if is_int else float(value))
        return self.run(state, fragment)

    def close(self) -> None:
        self._open.close()

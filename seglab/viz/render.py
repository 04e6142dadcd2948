"""Chart pictures (PNG, SVG) rendered by vl-convert in a child process.

vl-convert runs a JavaScript engine; under a virtual-memory limit (``ulimit -v``, common on
shared servers) that engine aborts the whole process with a signal and no message. In the app
server that would end every student's session, so the rendering happens in a short-lived child
process: if it dies, only the child dies and the caller gets a plain
:class:`ChartRenderError`. ``python -m seglab.viz.render png|svg SCALE`` reads the Vega-Lite spec
on stdin and writes the picture on stdout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from seglab.errors import SegLabError

RENDER_TIMEOUT = 120.0  # seconds; a chart that takes longer is refused


class ChartRenderError(SegLabError):
    """The chart could not be drawn as a picture (the renderer crashed or took too long)."""


def render_chart(spec_json: str, fmt: str, scale: float = 2.0, timeout: float = RENDER_TIMEOUT) -> bytes:
    """``spec_json`` (a Vega-Lite spec) as PNG or SVG bytes, drawn in a child process."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"unsupported chart format {fmt!r}")
    package_root = str(Path(__file__).resolve().parents[2])  # the child imports this very package
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "seglab.viz.render", fmt, str(float(scale))],
            input=spec_json.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise ChartRenderError(
            f"drawing the {fmt.upper()} took more than {timeout:.0f} s; try SVG."
        ) from None
    except OSError as exc:
        raise ChartRenderError(f"the {fmt.upper()} renderer could not start ({exc}).") from None
    if done.returncode != 0 or not done.stdout:
        if done.returncode < 0:
            why = f"the renderer was stopped by signal {-done.returncode}, often a memory limit"
        else:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            why = lines[-1][:200] if lines else f"the renderer exited with {done.returncode}"
        raise ChartRenderError(
            f"the {fmt.upper()} picture could not be drawn on this server ({why})"
            + ("; the SVG download may still work." if fmt == "png" else ".")
        )
    return done.stdout


def _main(argv: list[str]) -> int:
    import vl_convert

    fmt, scale = argv[0], float(argv[1])
    spec = sys.stdin.buffer.read().decode("utf-8")
    if fmt == "png":
        data = vl_convert.vegalite_to_png(spec, scale=scale)
    else:
        data = vl_convert.vegalite_to_svg(spec).encode("utf-8")
    sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

"""The exam countdown: drawn in the browser from the server's deadline and clock, so it ticks
without a server rerun per second. It announces to screen readers only at 10, 5 and 1 minutes."""

from __future__ import annotations

from datetime import datetime
from html import escape

import streamlit as st

_EPOCH = datetime(1970, 1, 1)

_HTML = """
<div style="font-family: 'Source Sans Pro', system-ui, sans-serif; display:flex;
            align-items:baseline; gap:.6rem">
  <span style="font-size:.9rem; color:#555">__LABEL__</span>
  <span id="clock" role="timer" aria-live="off" aria-atomic="true"
        style="font-size:1.6rem; font-weight:600; font-variant-numeric: tabular-nums">--:--</span>
</div>
<div id="announce" aria-live="assertive" role="status"
     style="position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0)"></div>
<script>
(function () {
  const deadline = __DEADLINE__;            // ms since epoch, set by the server
  const offset = __SERVER_NOW__ - Date.now(); // server clock minus this browser's clock
  const marks = [600, 300, 60];
  const clock = document.getElementById("clock");
  const announce = document.getElementById("announce");
  let previous = null;
  function fmt(s) {
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
    return h > 0 ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }
  function tick() {
    const left = Math.max(0, Math.ceil((deadline - (Date.now() + offset)) / 1000));
    clock.textContent = left > 0 ? fmt(left) : "Time is up";
    clock.style.color = left <= 300 ? "#b42318" : "inherit";
    if (previous !== null) {
      for (const m of marks) {
        if (previous > m && left <= m) {
          announce.textContent = (m / 60) + (m === 60 ? " minute" : " minutes") + " left";
        }
      }
      if (previous > 0 && left === 0) { announce.textContent = "Time is up"; }
    }
    previous = left;
  }
  tick();
  setInterval(tick, 1000);
})();
</script>
"""


def _ms(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds() * 1000)


def countdown_html(deadline: datetime, server_now: datetime, label: str = "Time left") -> str:
    """The countdown as a self-contained HTML document (no learner text goes into it)."""
    return (
        _HTML.replace("__DEADLINE__", str(_ms(deadline)))
        .replace("__SERVER_NOW__", str(_ms(server_now)))
        .replace("__LABEL__", escape(label))
    )


def countdown(deadline: datetime, server_now: datetime, label: str = "Time left") -> None:
    """Draw a ticking countdown to `deadline`, corrected to the server's clock."""
    st.iframe(countdown_html(deadline, server_now, label), height=48)

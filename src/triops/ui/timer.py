"""The exam countdown: drawn in the browser from the server's deadline and clock, so it ticks
without a server rerun per second. It announces to screen readers only at 10, 5 and 1 minutes
left and when time is up.

It is a Streamlit v2 component, drawn in the page itself rather than in an iframe: when the
server resyncs (every 15 s, and on every interaction) Streamlit calls the script again with the
new data on the same element, so the live region and what was already announced survive the
resync. An iframe was rebuilt on every resync, and a threshold that fell on a resync, as the
whole-minute marks of a whole-minute exam do, was never announced."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

_EPOCH = datetime(1970, 1, 1)

MARKS = (600, 300, 60)  # seconds left at which screen readers hear the time

HTML = """
<div class="triops-timer">
  <span class="triops-timer-label"></span>
  <span class="triops-timer-clock" role="timer" aria-live="off" aria-atomic="true">--:--</span>
  <div class="triops-timer-announce" aria-live="assertive" role="status"></div>
</div>
"""

CSS = """
.triops-timer { display: flex; align-items: baseline; gap: .6rem;
  font-family: var(--st-font, "Source Sans Pro", system-ui, sans-serif); }
.triops-timer-label { font-size: .9rem; color: var(--st-text-color, #31333f); opacity: .8; }
.triops-timer-clock { font-size: 1.6rem; font-weight: 600; font-variant-numeric: tabular-nums;
  color: var(--st-text-color, #31333f); }
.triops-timer-clock.triops-timer-low { color: #b42318; }
.triops-timer-announce { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
"""

# Called by Streamlit on mount and again, on the same element, whenever the data changes.
# State that must outlive a resync (the last second shown, the marks already announced) lives
# on the element, keyed by the deadline: a grace period is a new deadline with its own marks.
JS = """
export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement.querySelector(".triops-timer");
  const label = root.querySelector(".triops-timer-label");
  const clock = root.querySelector(".triops-timer-clock");
  const announce = root.querySelector(".triops-timer-announce");
  const marks = __MARKS__;
  let state = root.__triopsTimer;
  if (!state || state.deadline !== data.deadline) {
    state = { deadline: data.deadline, previous: null, announced: new Set() };
    root.__triopsTimer = state;
  }
  const offset = data.server_now - Date.now();  // server clock minus this browser's clock
  label.id = label.id || "triops-timer-label-" + Math.random().toString(36).slice(2);
  label.textContent = data.label;
  clock.setAttribute("aria-labelledby", label.id);
  root.dataset.resyncs = String(Number(root.dataset.resyncs || 0) + 1);
  function fmt(s) {
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
    return h > 0 ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }
  function say(key, text) {
    if (state.announced.has(key)) return;
    state.announced.add(key);
    announce.textContent = text;
  }
  function tick() {
    const left = Math.max(0, Math.ceil((data.deadline - (Date.now() + offset)) / 1000));
    clock.textContent = left > 0 ? fmt(left) : "Time is up";
    clock.classList.toggle("triops-timer-low", left <= 300);
    const previous = state.previous;
    state.previous = left;
    if (previous === null) return;
    if (previous > 0 && left === 0) { say(0, "Time is up"); return; }
    // A jump over several marks (a sleeping laptop) announces only the nearest one.
    const crossed = marks.filter((m) => previous > m && left <= m);
    if (crossed.length) {
      const m = Math.min(...crossed);
      for (const c of crossed) if (c !== m) state.announced.add(c);
      say(m, (m / 60) + (m === 60 ? " minute" : " minutes") + " left");
    }
  }
  tick();
  const timer = setInterval(tick, 1000);
  return () => clearInterval(timer);
}
""".replace("__MARKS__", str(list(MARKS)))

_component = st.components.v2.component("triops_countdown", html=HTML, css=CSS, js=JS)


def _ms(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds() * 1000)


def countdown_data(deadline: datetime, server_now: datetime, label: str = "Time left") -> dict:
    """What the browser needs: the deadline and the server's now (ms since the epoch, UTC)."""
    return {"deadline": _ms(deadline), "server_now": _ms(server_now), "label": label}


def countdown(deadline: datetime, server_now: datetime, label: str = "Time left") -> None:
    """Draw a ticking countdown to `deadline`, corrected to the server's clock."""
    _component(key="triops-countdown", data=countdown_data(deadline, server_now, label), height=48)

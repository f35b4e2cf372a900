"""The exam countdown: drawn in the browser from the server's deadline and clock, so it ticks
without a server rerun per second. It announces to screen readers only at 10, 5 and 1 minutes
left and when time is up (an assertive live region: these are the warnings that matter).

The candidate can hide the clock (remembered in this browser for the attempt) and ask for the
time left at any moment, with the "Read time left" button or Alt+T anywhere on the page: the
answer goes to a polite live region, in words, so it never interrupts and never repeats by
itself. A single-letter shortcut would fire while typing an answer (WCAG 2.2 SC 2.1.4), hence
the Alt modifier; the key is read from the physical key (`KeyboardEvent.code`), so it is the
same on every keyboard layout and with macOS's Option key.

It is a Streamlit v2 component, drawn in the page itself rather than in an iframe: when the
server resyncs (every 15 s, and on every interaction) Streamlit calls the script again with the
new data on the same element, so the live regions, what was already announced and whether the
clock is hidden survive the resync. An iframe was rebuilt on every resync, and a threshold that
fell on a resync, as the whole-minute marks of a whole-minute exam do, was never announced."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

_EPOCH = datetime(1970, 1, 1)

MARKS = (600, 300, 60)  # seconds left at which screen readers hear the time
READ_KEY = "Alt+T"  # reads the time left on demand (aria-keyshortcuts syntax)

HTML = """
<div class="triops-timer">
  <span class="triops-timer-shown">
    <span class="triops-timer-label"></span>
    <span class="triops-timer-clock" role="timer" aria-live="off" aria-atomic="true">--:--</span>
  </span>
  <span class="triops-timer-hidden-note" hidden>Timer hidden</span>
  <button type="button" class="triops-timer-toggle">Hide timer</button>
  <button type="button" class="triops-timer-read" aria-keyshortcuts="__KEY__">
    Read time left (__KEY__)</button>
  <span class="triops-timer-ondemand" role="status" aria-live="polite" aria-atomic="true"></span>
  <div class="triops-timer-announce" aria-live="assertive" role="status"></div>
</div>
""".replace("__KEY__", READ_KEY)

CSS = """
.triops-timer { display: flex; flex-wrap: wrap; align-items: baseline; gap: .4rem .8rem;
  font-family: var(--st-font, "Source Sans Pro", system-ui, sans-serif);
  color: var(--st-text-color, #31333f); }
.triops-timer-shown { display: inline-flex; align-items: baseline; gap: .6rem; }
.triops-timer-shown[hidden], .triops-timer-hidden-note[hidden] { display: none; }
.triops-timer-label, .triops-timer-hidden-note, .triops-timer-ondemand { font-size: .9rem; }
.triops-timer-clock { font-size: 1.6rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.triops-timer-clock.triops-timer-low { color: #b42318; }
.triops-timer button { font: inherit; font-size: .85rem; color: inherit; background: transparent;
  border: 1px solid currentColor; border-radius: .4rem; padding: .1rem .5rem; cursor: pointer; }
.triops-timer button:focus-visible { outline: 2px solid #1d4f73; outline-offset: 2px; }
.triops-timer-announce { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
"""

# Called by Streamlit on mount and again, on the same element, whenever the data changes.
# State that must outlive a resync (the last second shown, the marks already announced) lives
# on the element, keyed by the deadline: a grace period is a new deadline with its own marks.
# Whether the clock is hidden is kept per attempt in localStorage (and on the element where a
# page may not use storage), so it holds across questions, reloads and a grace period.
JS = """
export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement.querySelector(".triops-timer");
  const shown = root.querySelector(".triops-timer-shown");
  const label = root.querySelector(".triops-timer-label");
  const clock = root.querySelector(".triops-timer-clock");
  const note = root.querySelector(".triops-timer-hidden-note");
  const toggle = root.querySelector(".triops-timer-toggle");
  const read = root.querySelector(".triops-timer-read");
  const ondemand = root.querySelector(".triops-timer-ondemand");
  const announce = root.querySelector(".triops-timer-announce");
  const marks = __MARKS__;
  let state = root.__triopsTimer;
  if (!state || state.deadline !== data.deadline) {
    state = { deadline: data.deadline, previous: null, announced: new Set(),
              reads: state ? state.reads : 0 };
    root.__triopsTimer = state;
  }
  const offset = data.server_now - Date.now();  // server clock minus this browser's clock
  label.id = label.id || "triops-timer-label-" + Math.random().toString(36).slice(2);
  label.textContent = data.label;
  clock.setAttribute("aria-labelledby", label.id);
  root.dataset.resyncs = String(Number(root.dataset.resyncs || 0) + 1);
  const storeKey = "triops-timer-hidden:" + data.attempt;
  function isHidden() {
    try {
      const kept = window.localStorage.getItem(storeKey);
      if (kept !== null) return kept === "1";
    } catch (e) { /* no storage on this page: the element keeps it */ }
    return root.__triopsHidden === storeKey;
  }
  function setHidden(hidden) {
    root.__triopsHidden = hidden ? storeKey : null;
    try { window.localStorage.setItem(storeKey, hidden ? "1" : "0"); } catch (e) { }
    show();
  }
  function show() {
    const hidden = isHidden();
    shown.hidden = hidden;
    note.hidden = !hidden;
    toggle.textContent = hidden ? "Show timer" : "Hide timer";
  }
  function left() {
    return Math.max(0, Math.ceil((data.deadline - (Date.now() + offset)) / 1000));
  }
  function fmt(s) {
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
    return h > 0 ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }
  function words(s) {
    if (s <= 0) return "Time is up";
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const part = (n, unit) => n + " " + unit + (n === 1 ? "" : "s");
    const parts = [];
    if (h) parts.push(part(h, "hour"));
    if (m) parts.push(part(m, "minute"));
    if (r && !h) parts.push(part(r, "second"));
    return parts.join(" ") + " left";
  }
  function readOut() {
    // A trailing no-break space on every other read makes a repeated answer a change, so a
    // screen reader speaks it again.
    state.reads = (state.reads || 0) + 1;
    const text = (data.label === "Time left" ? "" : data.label + ": ") + words(left());
    ondemand.textContent = text + (state.reads % 2 ? "" : "\\u00a0");
  }
  function say(key, text) {
    if (state.announced.has(key)) return;
    state.announced.add(key);
    announce.textContent = text;
  }
  function tick() {
    const now = left();
    clock.textContent = now > 0 ? fmt(now) : "Time is up";
    clock.classList.toggle("triops-timer-low", now <= 300);
    const previous = state.previous;
    state.previous = now;
    if (previous === null) return;
    if (previous > 0 && now === 0) { say(0, "Time is up"); return; }
    // A jump over several marks (a sleeping laptop) announces only the nearest one.
    const crossed = marks.filter((m) => previous > m && now <= m);
    if (crossed.length) {
      const m = Math.min(...crossed);
      for (const c of crossed) if (c !== m) state.announced.add(c);
      say(m, (m / 60) + (m === 60 ? " minute" : " minutes") + " left");
    }
  }
  function onKey(event) {
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyT") {
      event.preventDefault();
      readOut();
    }
  }
  const onToggle = () => setHidden(!isHidden());
  show();
  tick();
  const timer = setInterval(tick, 1000);
  toggle.addEventListener("click", onToggle);
  read.addEventListener("click", readOut);
  document.addEventListener("keydown", onKey);
  return () => {
    clearInterval(timer);
    toggle.removeEventListener("click", onToggle);
    read.removeEventListener("click", readOut);
    document.removeEventListener("keydown", onKey);
  };
}
""".replace("__MARKS__", str(list(MARKS)))

_component = st.components.v2.component("triops_countdown", html=HTML, css=CSS, js=JS)


def _ms(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds() * 1000)


def countdown_data(
    deadline: datetime, server_now: datetime, label: str = "Time left", attempt: str = ""
) -> dict:
    """What the browser needs: the deadline and the server's now (ms since the epoch, UTC),
    the clock's name, and the attempt whose "hide timer" choice applies."""
    return {
        "deadline": _ms(deadline),
        "server_now": _ms(server_now),
        "label": label,
        "attempt": attempt,
    }


def countdown(
    deadline: datetime, server_now: datetime, label: str = "Time left", attempt: str = ""
) -> None:
    """Draw a ticking countdown to `deadline`, corrected to the server's clock, with a hide
    button and the time left read on demand (button or Alt+T)."""
    _component(key="triops-countdown", data=countdown_data(deadline, server_now, label, attempt))

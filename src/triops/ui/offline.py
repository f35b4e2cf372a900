"""Triops works without the internet: its own page icon, and a connection message that says so.

Streamlit's "connection lost" dialog is drawn by its frontend, with text fixed in its bundle
(streamlit 1.67, `DoInitPings`): on a page opened as `localhost` it says to restart Streamlit with
`streamlit run yourscript.py`; on any other host name (127.0.0.1, a LAN name) it asks "Are you
connected to the internet?". No setting changes either text, so a small script in the page
rewrites the dialog's message when it appears: the server is on this machine, and answers that
were confirmed are saved."""

from __future__ import annotations

import json
import os

import streamlit as st

# A local image: a Material icon as page_icon makes every page fetch it from fonts.gstatic.com.
PAGE_ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" '
    'rx="14" fill="#1d4f73"/><path d="M32 32c-4.2-5.3-8.2-9-13-9a9 9 0 0 0 0 18c4.8 0 8.8-3.7 '
    '13-9s8.2-9 13-9a9 9 0 0 1 0 18c-4.8 0-8.8-3.7-13-9z" fill="none" stroke="#fff" '
    'stroke-width="5" stroke-linecap="round"/></svg>'
)

SERVER_DOWN = (
    "The Triops server is not answering. Triops runs on this computer and needs no internet "
    "connection: check that the server is still running (start it again with triops serve). "
    "This page reconnects by itself, and every answer it confirmed is saved."
)

# A replica behind a load balancer (deploy/replica.py sets TRIOPS_REPLICA) is not on the
# candidate's computer, and the page reconnects to another replica when this one is down.
REPLICA_DOWN = (
    "The connection to the Triops server was lost. This page reconnects by itself, to another "
    "of this site's servers if this one stays down, and every answer it confirmed is saved."
)

# Streamlit's own texts, as its frontend bundle spells them.
_STREAMLIT_TEXTS = [
    "Streamlit server is not responding. Are you connected to the internet?",
    "Is Streamlit still running? If you accidentally stopped Streamlit, just restart it in your "
    "terminal:",
]

_JS = """
export default function () {
  if (window.__triopsConnectionText) return;  // one observer per page, kept across reruns
  window.__triopsConnectionText = true;
  const texts = __TEXTS__;
  const message = __MESSAGE__;
  function rewrite() {
    for (const dialog of document.querySelectorAll("[role=dialog]")) {
      const walker = document.createTreeWalker(dialog, NodeFilter.SHOW_TEXT);
      let replaced = false;
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (texts.some((t) => node.nodeValue.includes(t))) {
          node.nodeValue = message;
          replaced = true;
        }
      }
      if (replaced) {
        for (const code of dialog.querySelectorAll("code, pre")) {
          if (code.textContent.includes("streamlit run")) code.textContent = "triops serve";
        }
      }
    }
  }
  new MutationObserver(rewrite).observe(document.body, {
    childList: true, subtree: true, characterData: true,
  });
}
"""


def _rewording(name: str, message: str):
    return st.components.v2.component(
        name,
        js=_JS.replace("__TEXTS__", json.dumps(_STREAMLIT_TEXTS)).replace(
            "__MESSAGE__", json.dumps(message)
        ),
        isolate_styles=False,
    )


_component = _rewording("triops_connection_text", SERVER_DOWN)
_replica_component = _rewording("triops_connection_text_replica", REPLICA_DOWN)


def connection_text() -> None:
    """Mount the script that words Streamlit's connection-lost dialog: for an offline app, or
    for a replica behind a load balancer (TRIOPS_REPLICA set)."""
    replica = bool(os.environ.get("TRIOPS_REPLICA", "").strip())
    (_replica_component if replica else _component)(key="triops-connection-text", height=0)

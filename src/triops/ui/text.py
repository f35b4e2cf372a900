"""Showing untrusted text (profile names and other learner input) as text, never as markup."""

from __future__ import annotations

import re

# "&" too: markdown turns an entity such as &lt; into the character it names.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def plain(text: str) -> str:
    """Escape markdown so that learner-supplied text renders literally inside st.markdown."""
    return _MD_SPECIAL.sub(r"\\\1", text)

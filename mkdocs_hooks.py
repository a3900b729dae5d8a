"""MkDocs hooks (listed under `hooks:` in mkdocs.yml): keep the site offline.

nbconvert's notebook template, which mkdocs-jupyter renders every notebook page with, adds a
script that imports mermaid.js from cdnjs when the page has a mermaid diagram. The notebooks have
none, so the script would never run, but the page would still name a CDN; this hook removes it.
tests/test_learning_path.py builds the site and fails on any page that names a CDN.
"""

from __future__ import annotations

import re
from typing import Any

MERMAID_LOADER = re.compile(
    r'<script type="module">\s*document\.addEventListener\([^<]*?\.jp-Mermaid.*?</script>', re.S
)


def on_post_page(output: str, page: Any, config: Any) -> str:
    """Drop nbconvert's mermaid loader from a rendered page (a no-op on pages without it)."""
    return MERMAID_LOADER.sub("", output)

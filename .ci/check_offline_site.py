"""Fail when a built HTML site loads a script, stylesheet or font from the network.

Usage: ``python .ci/check_offline_site.py SITE_DIR``.  Looks at every ``.html`` and ``.css``
file for ``<script src=http...>``, ``<link href=http...>`` (stylesheets, preloads, fonts)
and CSS ``@import`` / ``url(http...)``; ordinary ``<a href>`` links are allowed.
Exit 1 listing the offending files and URLs, else 0.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(https?:)?//", re.I)
LINK = re.compile(r"<link\b[^>]*>", re.I)
LINK_REMOTE = re.compile(r"\bhref\s*=\s*[\"']?(https?:)?//", re.I)
LINK_LOADS = re.compile(r"\brel\s*=\s*[\"']?[^\"'>]*(stylesheet|preload|preconnect|modulepreload|icon)", re.I)
CSS_REMOTE = re.compile(r"(@import\s+[\"']?|url\(\s*[\"']?)(https?:)?//", re.I)


def offending(site: Path) -> list[str]:
    bad = []
    for path in sorted(site.rglob("*")):
        if path.suffix not in (".html", ".css") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in SCRIPT.finditer(text):
            bad.append(f"{path.relative_to(site)}: {text[m.start():m.end() + 60].splitlines()[0]}")
        for m in LINK.finditer(text):
            tag = m.group(0)
            if LINK_REMOTE.search(tag) and LINK_LOADS.search(tag):
                bad.append(f"{path.relative_to(site)}: {tag}")
        for m in CSS_REMOTE.finditer(text):
            bad.append(f"{path.relative_to(site)}: {text[m.start():m.end() + 60].splitlines()[0]}")
    return bad


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        sys.stderr.write("usage: check_offline_site.py SITE_DIR\n")
        return 2
    bad = offending(Path(argv[0]))
    for line in bad:
        sys.stderr.write(f"remote resource: {line}\n")
    if bad:
        sys.stderr.write(f"{len(bad)} script/stylesheet/font references to the network in {argv[0]}\n")
        return 1
    print(f"offline site check: no remote scripts, stylesheets or fonts in {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

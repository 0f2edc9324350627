"""The README, CI script and docs site agree with each other and need no network."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_test_command() -> str:
    """The command in the README's ``bash`` block that runs the test suite."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    cmds = [line.strip() for b in blocks for line in b.splitlines() if "pytest" in line]
    assert len(cmds) == 1, f"expected one pytest command in the README, found {cmds}"
    return cmds[0]


def test_readme_test_command_is_run_verbatim_by_ci():
    cmd = readme_test_command()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert cmd in ci_lines, f"the README's test command is not a line of .ci/run:\n{cmd}"
    # It installs every extra that a test needs without skipping: dist (Dask) at least.
    extras = re.search(r'pip install "\.\[([a-z,]+)\]"', cmd)
    assert extras and {"test", "dist"} <= set(extras.group(1).split(","))
    # CI runs it before anything it adds (docs build, further seeds).
    assert ci_lines.index(cmd) < min(i for i, line in enumerate(ci_lines) if "mkdocs build" in line)


# ------------------------------------------------------------------ the site (issue 13, part 3)

def _mkdocs_config() -> dict:
    yaml = pytest.importorskip("yaml")  # comes with the docs extra
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def _nav_files(nav) -> list[str]:
    out = []
    for item in nav:
        for value in (item.values() if isinstance(item, dict) else [item]):
            out += _nav_files(value) if isinstance(value, list) else [value]
    return out


def test_nav_starts_with_installation_usage_claim_model_and_lists_every_page():
    cfg = _mkdocs_config()
    titles = [next(iter(item)) for item in cfg["nav"]]
    assert titles[:3] == ["Installation", "Usage", "The claim model"]
    in_nav = set(_nav_files(cfg["nav"]))
    pages = {p.relative_to(ROOT / "docs").as_posix()
             for p in [*(ROOT / "docs").glob("*.md"), *(ROOT / "docs" / "papers").glob("*.md")]}
    # a page may stay out of the nav only when mkdocs.yml says so (a snippet, generated output)
    pages -= set((cfg.get("not_in_nav") or "").split()) | set((cfg.get("exclude_docs") or "").split())
    assert pages <= in_nav, f"pages missing from the nav: {sorted(pages - in_nav)}"
    assert all((ROOT / "docs" / f).is_file() for f in in_nav)
    # the paper pages come right after the guides, before the API reference
    assert titles.index("Papers") < titles.index("API reference")


def test_math_and_fonts_load_nothing_from_the_network():
    cfg = _mkdocs_config()
    assets = [*(cfg.get("extra_javascript") or []), *(cfg.get("extra_css") or [])]
    assert assets and not [a for a in assets if re.match(r"(https?:)?//", str(a))]
    for a in assets:
        assert (ROOT / "docs" / a).is_file(), a
    assert any("mathjax" in a and a.endswith("-full.js") for a in assets)  # no autoloaded extensions
    assert cfg["theme"].get("font") is False  # no font CDN


def test_every_paper_page_embeds_its_figures():
    from lintheory.plotting import figure_registry

    reg = figure_registry()
    papers = sorted(p.stem for p in (ROOT / "docs" / "papers").glob("*.md"))
    assert {s.paper for s in reg.values()} <= set(papers)
    for paper in papers:
        text = (ROOT / "docs" / "papers" / f"{paper}.md").read_text(encoding="utf-8")
        for key, spec in reg.items():
            if spec.paper == paper:
                assert f"](../figures/{key}.png)" in text, f"{paper}.md does not embed {key}"


def test_headings_escape_markdown_emphasis():
    """A '*' or '_' in a title would turn into emphasis ("λ*, merging α*" lost its stars)."""
    for page in sorted((ROOT / "docs").rglob("*.md")):
        fenced = False
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            elif line.startswith("#") and not fenced:
                text = re.sub(r"`[^`]*`|\$[^$]*\$", "", line)  # code and math are literal
                assert not re.search(r"(?<!\\)[*_]", text.lstrip("#")), f"{page.name}: {line}"


def test_offline_site_check_flags_remote_scripts_styles_and_fonts(tmp_path):
    import subprocess
    import sys

    check = ROOT / ".ci" / "check_offline_site.py"
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text('<a href="https://example.org">a link is fine</a>'
                                     '<script src="assets/local.js"></script>'
                                     '<link rel="stylesheet" href="assets/local.css">')
    (site / "a.css").write_text("body { background: url(img/x.png); }")
    ok = subprocess.run([sys.executable, str(check), str(site)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    (site / "bad.html").write_text('<script src="https://unpkg.com/mathjax@3/es5/tex.js"></script>'
                                   '<link href="https://fonts.googleapis.com/css?f=Roboto" rel="stylesheet">')
    (site / "b.css").write_text('@import "https://fonts.googleapis.com/css2";')
    bad = subprocess.run([sys.executable, str(check), str(site)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.count("remote resource:") == 3, bad.stderr

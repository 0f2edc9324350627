"""The README's results table and the paper pages' errata tables are generated from the errata data.

Regenerate with ``python -m lintheory.errata``; this test fails when a committed block is stale, so
no errata table in the docs is written by hand.
"""

from pathlib import Path

import pytest

from lintheory.errata import BEGIN, _PAPER_SUITES, generated_files

ROOT = Path(__file__).resolve().parents[1]


def test_readme_and_every_paper_page_carry_a_generated_errata_block():
    assert BEGIN.format(name="summary") in (ROOT / "README.md").read_text(encoding="utf-8")
    for suite in _PAPER_SUITES:
        page = ROOT / "docs" / "papers" / f"{suite}.md"
        assert BEGIN.format(name=suite) in page.read_text(encoding="utf-8"), page


@pytest.mark.parametrize("path", sorted(generated_files(ROOT), key=str), ids=lambda p: p.name)
def test_generated_block_is_current(path):
    fresh = generated_files(ROOT)[path]
    assert path.read_text(encoding="utf-8") == fresh, f"{path} is stale: run python -m lintheory.errata"

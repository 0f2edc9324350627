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

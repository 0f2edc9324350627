"""``report.json`` and ``report.md`` writers (the JSON contract of ARCHITECTURE.md).

Both files are written atomically: the text goes to a temporary file in the same
folder, which is then renamed over the target, so an interrupted run never leaves a
half-written report behind.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Iterable

__all__ = ["build_report", "write_report", "atomic_write_text", "check_out_dir", "versions", "regressions",
           "to_markdown", "to_html"]


def versions() -> dict:
    """Versions of python, numpy, scipy, cvxpy and torch (``None`` when not importable)."""
    out = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "cvxpy", "torch"):
        try:
            mod = __import__(name)
            out[name] = getattr(mod, "__version__", "unknown")
        except Exception:  # pragma: no cover - all are core dependencies
            out[name] = None
    return out


def build_report(records: Iterable[dict], *, profile: str, device: str, seed: int) -> dict:
    """Assemble the report dictionary of the JSON contract."""
    from . import __version__

    return {
        "lintheory": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "profile": profile,
        "device": device,
        "seed": int(seed),
        "versions": versions(),
        "claims": sorted(records, key=lambda r: r["id"]),
    }


def regressions(report: dict) -> list[dict]:
    """Records whose verdict differs from the expected one (skips allowed)."""
    return [r for r in report["claims"]
            if r["verdict"] != "skipped" and r["verdict"] != r["expected"]]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_out_dir(path: str | os.PathLike) -> Path:
    """Check, before any work, that ``path`` is (or can be made) a writable folder.

    Nothing is created: the path must be an existing writable folder, or not exist
    with its nearest existing ancestor a writable folder.  A temporary probe file is
    created and removed in that folder (it catches read-only file systems, which
    :func:`os.access` does not see for root).

    Raises
    ------
    InputError
        ``path`` is an existing file, lies under a file, or its folder is not writable.
    """
    from .errors import InputError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {path} is an existing file, not a folder")
    probe_dir = path
    while not probe_dir.exists():
        if probe_dir.parent == probe_dir:
            break
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise InputError(f"--out {path} cannot be created: {probe_dir} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=probe_dir, prefix=".lintheory-probe."):
            pass
    except OSError as exc:
        what = "is not writable" if probe_dir == path else f"cannot be created in {probe_dir}"
        raise InputError(f"--out {path} {what} ({exc.strerror or exc})") from None
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and an atomic rename.

    The file gets mode ``0666 & ~umask`` (0644 under the usual umask 022), as ``open``
    would give it, not the 0600 of the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _fmt(x) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def to_markdown(report: dict) -> str:
    """A readable report: one table per paper group, then the counterexamples."""
    lines = [
        "# lintheory verification report",
        "",
        f"- lintheory {report['lintheory']}, created {report['created']}",
        f"- profile `{report['profile']}`, device `{report['device']}`, seed `{report['seed']}`",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
        "",
    ]
    regs = regressions(report)
    counts: dict[str, int] = {}
    for r in report["claims"]:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    lines.append("**Summary:** " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
                 + f"; {len(regs)} differ from expected.")
    lines.append("")
    groups: dict[str, list[dict]] = {}
    for r in report["claims"]:
        groups.setdefault(r["id"].split(".", 1)[0], []).append(r)
    for g, recs in groups.items():
        lines += [f"## {g}", "",
                  "| claim | form | expected | verdict | instances | max error | tolerance | s |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in recs:
            mark = "" if r["verdict"] in (r["expected"], "skipped") else " **≠**"
            lines.append(f"| `{r['id']}` | {r['form']} | {r['expected']} | {r['verdict']}{mark} | "
                         f"{r['instances']} | {_fmt(r['max_error'])} | {_fmt(r['tolerance'])} | "
                         f"{r['seconds']:.2f} |")
        lines.append("")
    cex = [r for r in report["claims"] if r.get("counterexample") is not None]
    if cex:
        lines += ["## Counterexamples", ""]
        for r in cex:
            lines.append(f"- `{r['id']}` ({r['source']}): `{json.dumps(r['counterexample'])}`")
        lines.append("")
    odd = [r for r in report["claims"] if r["verdict"] in ("inconclusive", "skipped")]
    if odd:
        lines += ["## Inconclusive and skipped", ""]
        for r in odd:
            reason = (r["details"].get("inconclusive_reason")
                      or r["details"].get("skipped_reason") or "")
            lines.append(f"- `{r['id']}`: {r['verdict']} — {reason}")
        lines.append("")
    return "\n".join(lines)


def write_report(out_dir: str | os.PathLike, report: dict) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir`` (atomically)."""
    out = Path(out_dir)
    jpath, mpath = out / "report.json", out / "report.md"
    atomic_write_text(jpath, json.dumps(report, indent=2, allow_nan=False) + "\n")
    atomic_write_text(mpath, to_markdown(report) + "\n")
    return jpath, mpath

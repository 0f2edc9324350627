"""``report.json``, ``report.md`` and ``report.html`` writers (the JSON contract of ARCHITECTURE.md).

``report.md`` and ``report.html`` are written for a reader: first how many printed
statements are refuted and how many claims regressed, then one errata row per refuted
statement (paper, source and seed lines, the statement, what is wrong and by how much,
the replay command), then one table per paper in source order.  Both come from one
list of blocks (:func:`report_blocks`), so they say the same.  ``report.html`` is one
self-contained file: inline CSS, figures as data URIs, math as MathML (latex2mathml
when installed, else matplotlib's mathtext as SVG), nothing loaded from the network.

Every file is written atomically: the text goes to a temporary file in the same
folder, which is then renamed over the target, so an interrupted run never leaves a
half-written report behind.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import os
import platform
import re
import shlex
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

__all__ = ["build_report", "write_report", "atomic_write_text", "check_out_dir", "versions", "regressions",
           "to_markdown", "to_html", "report_blocks", "errata_rows", "source_order",
           "collect_figures", "verified_groups"]


def versions() -> dict:
    """Versions of python, numpy, scipy, cvxpy and torch (``None`` when not importable)."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "cvxpy", "torch"):
        mod = sys.modules.get(name)
        if mod is not None:
            out[name] = getattr(mod, "__version__", "unknown")
            continue
        try:  # the installed distribution's version, without importing it (torch: 2 s)
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - all are core dependencies
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
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


# ------------------------------------------------------------------ order and wording

#: The order of the paper groups in the tables (other suites follow, alphabetically).
_GROUP_ORDER = ("svm", "lora_margin", "s2ft", "adadare", "perturb_merge", "coto", "proofs")
_LINE_RE = re.compile(r"\bL(\d+)")
_NUM_RE = re.compile(r"(\d+)")


def _group(rec: dict) -> str:
    return rec["id"].split(".", 1)[0]


def _group_key(group: str) -> tuple:
    return (_GROUP_ORDER.index(group), "") if group in _GROUP_ORDER else (len(_GROUP_ORDER), group)


def _first_line(rec: dict) -> float:
    """Where the claim's result starts in the seed: an ``L123`` in its source, else the
    first line of its quote (``lines[0]``), else inf.  The source comes first so that the
    claims of one result stay together."""
    m = _LINE_RE.search(rec.get("source") or "")
    if m:
        return int(m.group(1))
    lines = rec.get("lines")
    if isinstance(lines, (list, tuple)) and lines and isinstance(lines[0], int):
        return lines[0]
    return math.inf


def _natural(s: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p.lower() for p in _NUM_RE.split(s or ""))


def source_order(records: Iterable[dict]) -> list[dict]:
    """Records by paper group, then by where they stand in the paper (seed line, then the
    source's numbering, "Lemma 2" before "Lemma 10"), then printed before corrected
    before derived, then by id."""
    forms = {"printed": 0, "corrected": 1, "derived": 2}
    return sorted(records, key=lambda r: (_group_key(_group(r)), _first_line(r),
                                          _natural(r.get("source") or ""),
                                          forms.get(r.get("form"), 3), r["id"]))


def _where(source: str | None, lines) -> str:
    """``source`` and its seed lines, unless the source already names them."""
    source = source or "—"
    if isinstance(lines, (list, tuple)) and len(lines) == 2 and not _LINE_RE.search(source):
        a, b = lines
        return f"{source} (seed L{a}–{b})" if a != b else f"{source} (seed L{a})"
    return source


def _instance(cfg) -> str:
    """A counterexample's config without its error, as compact JSON."""
    if not isinstance(cfg, dict):
        return json.dumps(cfg)
    return json.dumps({k: v for k, v in cfg.items() if k != "error"}, separators=(", ", ": "))


def _kind(rec: dict) -> str:
    return rec.get("error") or "error"


def _cert_words(c: dict | None) -> str:
    if not c:
        return ""
    lb = c.get("violation_lower_bound")
    method = {"exact": "exact rational arithmetic", "interval": "interval arithmetic",
              "float": "floating point"}.get(c.get("method"), str(c.get("method")))
    s = f"certified in {method}"
    if isinstance(lb, (int, float)) and not isinstance(lb, bool):
        s += f": violation ≥ {lb:.3g}"
    return s


def _readings_words(rec: dict) -> str:
    rd = rec.get("readings")
    if not isinstance(rd, dict) or len(rd) < 2:
        return ""
    failing = [k for k, v in rd.items() if isinstance(v, dict) and v.get("verdict") == "fails"]
    return f"fails under {len(failing)} of its {len(rd)} readings"


def _how_much(rec: dict, entry_cex=None) -> str:
    """What the smallest counterexample measured, in the claim's error kind."""
    cex = entry_cex if entry_cex is not None else rec.get("counterexample")
    parts = []
    if isinstance(cex, dict) and "error" in cex:
        parts.append(f"smallest counterexample `{_instance(cex)}`: {_kind(rec)} {_fmt(cex['error'])} "
                     f"(tolerance {_fmt(rec.get('tolerance'))})")
    elif rec.get("max_error") is not None:
        parts.append(f"{_kind(rec)} up to {_fmt(rec.get('max_error'))} "
                     f"(tolerance {_fmt(rec.get('tolerance'))})")
    for extra in (_cert_words(rec.get("certificate")), _readings_words(rec)):
        if extra:
            parts.append(extra)
    return "; ".join(parts)


def _replay(rec: dict) -> str | None:
    cex = rec.get("counterexample")
    if cex is None:
        return None
    cmd = f"lintheory replay {rec['id']} --counterexample {shlex.quote(_instance(cex))}"
    sweep = (rec.get("details") or {}).get("counterexample_sweep")
    return cmd + (f" --sweep {sweep}" if sweep else "")


def errata_rows(report: dict) -> list[dict]:
    """One row per erratum of this run, or per refuted printed claim that names none.

    From :func:`lintheory.errata.errata_from_records` where it is importable and works;
    otherwise straight from the failing printed claims.  Each row: ``{erratum, paper,
    suite, where, statement, what, how_much, replay, claims}``.
    """
    recs = {r["id"]: r for r in report["claims"]}
    entries = None
    try:
        from .errata import errata_from_records

        entries = errata_from_records(report["claims"])
    except Exception:  # errata data missing or broken: the records still say what failed
        entries = None
    rows = []
    if entries is not None:
        for e in entries:
            first = recs.get((e.get("claims") or [None])[0], {})
            what = e.get("what") or ""
            rows.append({
                "erratum": e.get("id") or "unregistered", "paper": e.get("paper") or first.get("paper"),
                "suite": e.get("suite") or (first and _group(first)),
                "where": _where(e.get("source") or first.get("source"), e.get("lines")),
                "statement": e.get("statement") or first.get("statement") or "",
                "kind": e.get("kind") or "",
                "what": what,
                "how_much": _how_much({**first, "certificate": e.get("certificate", first.get("certificate"))},
                                      e.get("counterexample")),
                "replay": e.get("replay") or _replay(first),
                "claims": list(e.get("claims") or []),
                "corrected": e.get("corrected"),
            })
        return rows
    for r in source_order(recs.values()):
        if r.get("form") == "printed" and r["verdict"] == "fails":
            rows.append({
                "erratum": r.get("erratum") or "—", "paper": r.get("paper"), "suite": _group(r),
                "where": _where(r.get("source"), r.get("lines")), "statement": r.get("statement") or "",
                "kind": "", "what": "", "how_much": _how_much(r), "replay": _replay(r),
                "claims": [r["id"]], "corrected": None,
            })
    return rows


# ------------------------------------------------------------------ the document

_MATH_RE = re.compile(r"(\$\$.+?\$\$|\$[^$]+\$)")


def _cell(s) -> str:
    """Markdown table cell text: no newlines; ``|`` escaped outside math and written
    ``\\vert`` / ``\\Vert`` inside it (an escaped pipe would reach the TeX as ``\\|``)."""
    parts = []
    for i, part in enumerate(_MATH_RE.split(str(s).replace("\n", " "))):
        if i % 2:
            part = part.replace("\\|", "\\Vert ").replace("|", "\\vert ")
        else:
            part = part.replace("|", "\\|").replace("_*", "_\\*")  # ‖Z‖_* is no emphasis
        parts.append(part)
    return "".join(parts)


def report_blocks(report: dict, figures: Sequence[tuple[str, Path, str]] = ()) -> list[tuple]:
    """The report as a list of blocks, rendered by :func:`to_markdown` and :func:`to_html`.

    Blocks: ``("h1"|"h2"|"h3", text)``, ``("p", text)``, ``("ul", [text])``,
    ``("table", header, rows)``, ``("code", text)`` and ``("figure", key, png_path,
    caption)``; text is inline Markdown limited to ``**bold**``, `` `code` `` and ``$math$``.
    """
    claims = report["claims"]
    regs = regressions(report)
    printed = [r for r in claims if r.get("form") == "printed"]
    refuted = [r for r in printed if r["verdict"] == "fails"]
    rows = errata_rows(report)
    counts: dict[str, int] = {}
    for r in claims:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    b: list[tuple] = [("h1", "lintheory verification report")]
    n_err = len(rows)
    b.append(("p", f"**{len(refuted)} printed statement{'s' if len(refuted) != 1 else ''} "
                   f"{'are' if len(refuted) != 1 else 'is'} refuted** (of {len(printed)} printed "
                   f"statements checked), as {n_err} errat{'a' if n_err != 1 else 'um'}. "
                   f"**{len(regs)} claim{'s' if len(regs) != 1 else ''} regressed** "
                   f"(verdict differs from the expected one)."))
    if regs:
        b.append(("ul", [f"`{r['id']}`: expected {r['expected']}, got **{r['verdict']}** — "
                         f"{_where(r.get('source'), r.get('lines'))}" for r in source_order(regs)]))
    b.append(("p", f"{len(claims)} claims: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
                   + f". Profile `{report['profile']}`, device `{report['device']}`, seed "
                   f"`{report['seed']}`; lintheory {report['lintheory']}, created {report['created']}; "
                   + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + "."))

    b.append(("h2", "Errata"))
    if rows:
        b.append(("p", "One row per erratum (a defect of a paper) or refuted printed claim. "
                       "*What is wrong* gives the error of the **smallest** counterexample, in the "
                       "claim's error kind, against its tolerance; the replay command re-runs that "
                       "instance."))
        b.append(("table", ["erratum", "paper", "source (seed lines)", "statement as printed",
                            "what is wrong, by how much", "replay"],
                  [[f"`{r['erratum']}`" + (f" ({r['kind']})" if r["kind"] else ""),
                    f"{r['suite']} (`{r['paper']}`)", r["where"], r["statement"],
                    " — ".join(x for x in (r["what"], r["how_much"]) if x)
                    + (f"; corrected: `{r['corrected']}`" if r.get("corrected") else ""),
                    f"`{r['replay']}`" if r["replay"] else "—"] for r in rows]))
    else:
        b.append(("p", "No printed statement is refuted in this run."))

    b.append(("h2", "How to read the numbers"))
    b.append(("ul", [
        "**largest error** is the largest error over all trusted instances of the claim, in the "
        "units named by **error kind** (a relative error, an absolute error, a z-score, a gap, ...), "
        "and is compared with **tolerance** in the same units: the claim holds when it is at most "
        "the tolerance on every instance.",
        "A failing claim also reports its **smallest counterexample** (the failing instance of "
        "smallest size) with that instance's own error. It is usually smaller than the largest "
        "error, which comes from a larger instance; both are in the same error kind.",
        "An error kind that is signed (a slack, a difference) can be negative: negative is on the "
        "holding side of the tolerance.",
    ]))

    groups: dict[str, list[dict]] = {}
    for r in source_order(claims):
        groups.setdefault(_group(r), []).append(r)
    figs_by_group: dict[str, list] = {}
    for key, png, caption in figures:
        figs_by_group.setdefault(key.split("_", 1)[0] if key.split("_", 1)[0] in groups else
                                 next((g for g in groups if key.startswith(g + "_")), ""), []
                                 ).append((key, png, caption))
    for g, recs in groups.items():
        n_ok = sum(r["verdict"] in (r["expected"], "skipped") for r in recs)
        papers = sorted({r.get("paper") or "" for r in recs})
        b.append(("h2", f"{g} — {len(recs)} claims, {n_ok} as expected"))
        if papers and papers != [""]:
            b.append(("p", "Seed: " + ", ".join(f"`{p}`" for p in papers if p) + "."))
        b.append(("table", ["claim", "source", "statement", "form", "expected", "verdict",
                            "instances", "largest error", "error kind", "tolerance"],
                  [[f"`{r['id']}`", _where(r.get("source"), r.get("lines")), r.get("statement") or "",
                    r["form"], r["expected"],
                    r["verdict"] + ("" if r["verdict"] in (r["expected"], "skipped") else " **≠ expected**"),
                    str(r["instances"]), _fmt(r["max_error"]), _kind(r) if r["max_error"] is not None
                    else "—", _fmt(r["tolerance"])] for r in recs]))
        for key, png, caption in sorted(figs_by_group.get(g, [])):
            b.append(("figure", key, png, caption))

    cex = [r for r in source_order(claims) if r.get("counterexample") is not None]
    if cex:
        b.append(("h2", "Counterexamples"))
        b.append(("p", "The smallest failing instance of each failing claim, with the error of that "
                       "instance beside the claim's largest error over all instances."))
        items = []
        for r in cex:
            c = r["counterexample"]
            own = _fmt(c.get("error")) if isinstance(c, dict) else "—"
            items.append(f"`{r['id']}` ({_where(r.get('source'), r.get('lines'))}): instance "
                         f"`{_instance(c)}`; error of this smallest counterexample {own}, largest "
                         f"error over the {r['instances']} instances {_fmt(r['max_error'])} "
                         f"({_kind(r)}, tolerance {_fmt(r['tolerance'])}); replay: `{_replay(r)}`")
        b.append(("ul", items))
    odd = [r for r in source_order(claims) if r["verdict"] in ("inconclusive", "skipped")]
    if odd:
        b.append(("h2", "Inconclusive and skipped"))
        b.append(("ul", [f"`{r['id']}`: {r['verdict']} — "
                         + _cell((r.get("details") or {}).get("inconclusive_reason")
                                 or (r.get("details") or {}).get("skipped_reason") or "")
                         for r in odd]))
    return b


def to_markdown(report: dict, figures: Sequence[tuple[str, Path, str]] = ()) -> str:
    """``report.md``: the blocks of :func:`report_blocks` as GitHub Markdown.

    Figures are linked by path relative to the report when given.
    """
    out: list[str] = []
    for blk in report_blocks(report, figures):
        kind = blk[0]
        if kind in ("h1", "h2", "h3"):
            out += ["#" * int(kind[1]) + " " + blk[1], ""]
        elif kind == "p":
            out += [blk[1], ""]
        elif kind == "ul":
            out += [f"- {_cell(it)}" for it in blk[1]] + [""]
        elif kind == "code":
            out += ["```", blk[1], "```", ""]
        elif kind == "table":
            header, rows = blk[1], blk[2]
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "---|" * len(header))
            out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
            out.append("")
        elif kind == "figure":
            _, key, png, caption = blk
            out += [f"![{key}]({png})", "", f"*{key}*: {caption}", ""]
    return "\n".join(out).rstrip() + "\n"


# ------------------------------------------------------------------ HTML

_CSS = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #d8dde6; --bad: #b42318; --ok: #1b7f3b; --bg2: #f5f7fa; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--fg); margin: 2rem auto; max-width: 1280px; padding: 0 1.5rem; }
h1 { font-size: 1.7rem; margin-bottom: .3rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
p, li { max-width: 95ch; }
code { font: 12.5px/1.4 "DejaVu Sans Mono", Menlo, Consolas, monospace; background: var(--bg2);
       padding: 0 .25em; border-radius: 3px; overflow-wrap: break-word; }
table { border-collapse: collapse; width: 100%; margin: .8rem 0 1.2rem; font-size: 13.5px; }
th, td { border: 1px solid var(--line); padding: .3rem .45rem; vertical-align: top; text-align: left; }
th { background: var(--bg2); position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.bad td { background: #fff4f2; }
.fails { color: var(--bad); font-weight: 600; }
.holds { color: var(--ok); }
.summary { font-size: 1.1rem; background: var(--bg2); border-left: 4px solid var(--bad); padding: .6rem .9rem; }
figure { margin: 1rem 0 1.6rem; }
figure img { max-width: 100%; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 13px; }
math { font-size: 1.05em; }
img.math { vertical-align: middle; height: 1.25em; }
"""

# emphasis only between letters, never after "_" or "‖" (a norm's subscript star, "‖Z‖_*")
_INLINE_RE = re.compile(r"(`[^`]+`|\$\$.+?\$\$|\$[^$]+\$|(?<![\w‖*])\*\*[^\s*][^*]*?\*\*(?![\w*])"
                        r"|(?<![\w‖*])\*[A-Za-z][^*]*?[A-Za-z.]\*(?![\w*]))")


def _tex_to_html(tex: str, display: bool = False) -> str:
    """MathML from latex2mathml if installed, else an SVG from matplotlib's mathtext,
    else the TeX source as code."""
    try:
        from latex2mathml.converter import convert

        return convert(tex, display="block" if display else "inline")
    except ImportError:
        pass
    except Exception:  # a macro latex2mathml does not know: try mathtext
        pass
    try:
        from matplotlib import mathtext
        import io

        buf = io.BytesIO()
        mathtext.math_to_image(f"${tex}$", buf, format="svg")
        data = base64.b64encode(buf.getvalue()).decode()
        return f'<img class="math" alt="{html.escape(tex)}" src="data:image/svg+xml;base64,{data}">'
    except Exception:
        return f"<code>{html.escape(tex)}</code>"


def _inline_html(text: str) -> str:
    out = []
    for part in _INLINE_RE.split(str(text)):
        if not part:
            continue
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            # break long ids and paths after dots, slashes and underscores, not anywhere
            code = re.sub(r"([./_])", "\\1<wbr>", html.escape(part[1:-1]))
            out.append(f"<code>{code}</code>")
        elif part.startswith("$$") and part.endswith("$$") and len(part) > 4:
            out.append(_tex_to_html(part[2:-2], display=True))
        elif part.startswith("$") and part.endswith("$") and len(part) > 2:
            out.append(_tex_to_html(part[1:-1]))
        elif part.startswith("**") and part.endswith("**") and len(part) > 4:
            out.append(f"<strong>{_inline_html(part[2:-2])}</strong>")
        elif part.startswith("*") and part.endswith("*") and len(part) > 2:
            out.append(f"<em>{html.escape(part[1:-1])}</em>")
        else:
            out.append(html.escape(part))
    return "".join(out)


_NUMERIC_COLS = {"instances", "largest error", "tolerance"}


def to_html(report: dict, figures: Sequence[tuple[str, Path, str]] = ()) -> str:
    """``report.html``: the blocks of :func:`report_blocks` as one self-contained page.

    Inline CSS, figures embedded as ``data:image/png`` URIs, math as MathML (or SVG):
    the file shows the same with no network and no other file beside it.
    """
    body: list[str] = []
    first_p = True
    for blk in report_blocks(report, figures):
        kind = blk[0]
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{_inline_html(blk[1])}</{kind}>")
        elif kind == "p":
            cls = ' class="summary"' if first_p else ""
            first_p = False
            body.append(f"<p{cls}>{_inline_html(blk[1])}</p>")
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{_inline_html(it)}</li>" for it in blk[1]) + "</ul>")
        elif kind == "code":
            body.append(f"<pre><code>{html.escape(blk[1])}</code></pre>")
        elif kind == "table":
            header, rows = blk[1], blk[2]
            num = [h in _NUMERIC_COLS for h in header]
            vi = header.index("verdict") if "verdict" in header else None
            t = ["<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header)
                 + "</tr></thead><tbody>"]
            for row in rows:
                bad = vi is not None and "≠" in row[vi]
                cells = []
                for i, c in enumerate(row):
                    cls = []
                    if num[i]:
                        cls.append("num")
                    if i == vi:
                        cls.append("fails" if row[i].startswith("fails") else
                                   "holds" if row[i].startswith("holds") else "")
                    attr = f' class="{" ".join(x for x in cls if x)}"' if any(cls) else ""
                    cells.append(f"<td{attr}>{_inline_html(c)}</td>")
                tr = '<tr class="bad">' if bad else "<tr>"
                t.append(tr + "".join(cells) + "</tr>")
            t.append("</tbody></table>")
            body.append("".join(t))
        elif kind == "figure":
            _, key, png, caption = blk
            data = base64.b64encode(Path(png).read_bytes()).decode()
            body.append(f'<figure id="fig-{html.escape(key)}"><img alt="{html.escape(key)}" '
                        f'src="data:image/png;base64,{data}"><figcaption><code>{html.escape(key)}'
                        f"</code>: {_inline_html(caption)}</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>lintheory verification report</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


# ------------------------------------------------------------------ figures and files

def verified_groups(report: dict) -> list[str]:
    """The paper groups all of whose registered claims are in the report."""
    try:
        from .claims import registry

        reg = registry()
    except Exception:  # pragma: no cover - the registry always loads in a run
        return []
    have = {r["id"] for r in report["claims"]}
    groups = sorted({_group(r) for r in report["claims"]}, key=_group_key)
    return [g for g in groups
            if all(cid in have for cid in reg if cid.split(".", 1)[0] == g)]


def collect_figures(report: dict, figures_dir: str | os.PathLike | None, *,
                    generate: bool = True) -> list[tuple[str, Path, str]]:
    """The figures of the papers in ``report``: ``[(key, png path, description)]``.

    PNGs already in ``figures_dir`` (written by ``lintheory figures``) are used for every
    paper group of the report; with ``generate``, the missing figures of the groups that
    were verified whole (:func:`verified_groups`) are made there first, with the report's
    profile, seed and device.  ``figures_dir=None``: no figures.
    """
    if figures_dir is None:
        return []
    from .plotting import figure_registry, run_figures

    fdir = Path(figures_dir)
    reg = figure_registry()
    groups = {_group(r) for r in report["claims"]}
    if generate:
        whole = set(verified_groups(report))
        missing = [k for k, s in reg.items() if s.paper in whole and not (fdir / f"{k}.png").exists()]
        if missing:
            run_figures(fdir, missing, profile=report["profile"], seed=report["seed"],
                        device=report["device"])
    return [(k, fdir / f"{k}.png", s.description) for k, s in reg.items()
            if s.paper in groups and (fdir / f"{k}.png").exists()]


def write_report(out_dir: str | os.PathLike, report: dict, *,
                 figures_dir: str | os.PathLike | None = None,
                 generate_figures: bool = False) -> tuple[Path, Path, Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` into ``out_dir`` (atomically).

    Parameters
    ----------
    out_dir : path
    report : dict
        From :func:`build_report`.
    figures_dir : path, optional
        Where the figures' PNGs are (default: ``out_dir/figures`` when it exists).
    generate_figures : bool
        Make the missing figures of the papers verified whole in ``figures_dir``
        (default: ``out_dir/figures``) before embedding them.
    """
    out = Path(out_dir)
    if figures_dir is None and (generate_figures or (out / "figures").is_dir()):
        figures_dir = out / "figures"
    figs = collect_figures(report, figures_dir, generate=generate_figures)
    jpath, mpath, hpath = out / "report.json", out / "report.md", out / "report.html"
    atomic_write_text(jpath, json.dumps(report, indent=2, allow_nan=False) + "\n")
    md_figs = [(k, os.path.relpath(p, out), c) for k, p, c in figs]
    atomic_write_text(mpath, to_markdown(report, md_figs))
    atomic_write_text(hpath, to_html(report, figs))
    return jpath, mpath, hpath

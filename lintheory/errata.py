"""Errata: one entry per defect of a paper, the single source of every errata table.

A failing printed claim names its erratum (``erratum = "<suite>.E<n>"`` in the
suite's paper data).  The erratum itself is data beside the suite's code::

    [errata."lora_margin.E1"]
    kind = "wrong constant"          # one of lintheory.claims.ERRATUM_KINDS
    what = "the printed zero threshold 1/(K sqrt n) is off by the factor ..."
    corrected = "lora_margin.thm3_1.zero_threshold.corrected"

and a run of the claims adds what only a run can give: the smallest counterexample,
its certificate and the replay command.  :func:`errata_from_records` joins the two;
``lintheory errata``, ``report.md``/``report.html``, the README's results table and
the docs' errata tables all come from it.
"""

from __future__ import annotations

import json
import shlex
from typing import Iterable, Sequence

from .claims import ERRATUM_KINDS, Claim, belongs_to, registry, with_proofs
from .errors import InputError
from .paperdata import data_for_module

__all__ = ["errata_data", "errata_from_records", "errata_claims", "to_markdown", "replay_command"]


def _data_of(claims: Iterable[Claim]) -> dict:
    """The union of the paper data files the given claims come from."""
    out: dict = {}
    seen = set()
    for c in claims:
        mod = getattr(c.check, "__module__", None)
        if mod in seen:
            continue
        seen.add(mod)
        for k, v in data_for_module(mod).get("errata", {}).items():
            out[k] = dict(v)
    return out


def errata_data(suites: Sequence[str] | None = None) -> dict[str, dict]:
    """The errata of the given suites (default: all), from their paper data, by id.

    Each entry gets ``claims``: the printed claims that name it.  Raises
    :class:`InputError` when an entry's ``kind`` is not one of ``ERRATUM_KINDS``, its
    ``corrected`` claim does not exist, or a claim names an erratum that is not there.
    """
    # a proof step may name its paper's erratum, which lives in the paper's data: load
    # the papers of the selected proof steps too (and only those, so that writing the
    # report of one claim does not import every suite)
    reg = registry(None if suites is None else list(suites))
    claims = [c for c in reg.values() if belongs_to(c, suites)]
    if suites is not None:
        from .suites import known_suites

        papers = {c.id.split(".")[1] for c in claims if c.group == "proofs"} & set(known_suites())
        if papers - set(suites):
            reg = registry(sorted(set(suites) | papers))
    data = _data_of(reg.values())
    for c in claims:
        if c.erratum is None:
            continue
        if c.erratum not in data:
            raise InputError(f"claim {c.id} names erratum {c.erratum!r}, which its paper data lacks")
        data[c.erratum].setdefault("claims", []).append(c.id)
    for eid, e in data.items():
        if e.get("kind") not in ERRATUM_KINDS:
            raise InputError(f"erratum {eid}: kind {e.get('kind')!r} is not one of {ERRATUM_KINDS}")
        cor = e.get("corrected")
        if cor and cor not in reg:
            raise InputError(f"erratum {eid}: corrected claim {cor!r} is not registered")
        e.setdefault("claims", [])
        e["id"] = eid
    if suites is not None:
        data = {k: v for k, v in data.items() if v["claims"]}
    return dict(sorted(data.items()))


def errata_claims(suites: Sequence[str] | None = None) -> list[Claim]:
    """The claims a run needs for the errata: every printed claim, and the corrected claims named."""
    reg = registry(with_proofs(suites))
    data = errata_data(suites)
    ids = {c.id for c in reg.values() if c.form == "printed" and belongs_to(c, suites)}
    for e in data.values():
        ids.update(e["claims"])
        if e.get("corrected"):
            ids.add(e["corrected"])
    return [reg[i] for i in sorted(ids)]


def replay_command(claim_id: str, counterexample: dict | None, sweep_index: int | None = None) -> str:
    """The shell command that re-runs a stored counterexample."""
    if counterexample is None:
        return ""
    cmd = f"lintheory replay {claim_id} --counterexample {shlex.quote(json.dumps(counterexample))}"
    if sweep_index:
        cmd += f" --sweep {int(sweep_index)}"
    return cmd


def errata_from_records(records: Iterable[dict], suites: Sequence[str] | None = None) -> list[dict]:
    """Join the errata data with the records of a run.

    Parameters
    ----------
    records : iterable of dict
        Claim records (``report.json``'s ``claims``).
    suites : sequence of str, optional
        Restrict to these suites (default: the suites of the records).

    Returns
    -------
    list of dict
        One entry per erratum with at least one failing printed claim in ``records``
        (an erratum whose claims all hold is not an erratum of this run), in paper and
        line order: ``{id, paper, suite, lines, kind, quote, what, claims, corrected,
        corrected_verdict, source, statement, counterexample, certificate, error,
        max_error, replay}``.  Failing printed claims that name no erratum come last,
        with ``id`` ``None`` and ``kind`` ``"unregistered"``.
    """
    recs = {r["id"]: r for r in records}
    if suites is None:
        suites = sorted({cid.split(".", 1)[0] for cid in recs})
    data = errata_data(suites)
    out = []
    named = set()
    for eid, e in data.items():
        failing = [recs[c] for c in e["claims"] if c in recs and recs[c]["verdict"] == "fails"]
        if not failing:
            continue
        named.update(r["id"] for r in failing)
        first = min(failing, key=lambda r: (r.get("lines") or [0])[0])
        lines = e.get("lines") or [min((r.get("lines") or [0, 0])[0] for r in failing),
                                   max((r.get("lines") or [0, 0])[1] for r in failing)]
        cor = e.get("corrected")
        out.append({
            "id": eid, "paper": first["paper"], "suite": eid.split(".", 1)[0], "lines": lines,
            "kind": e["kind"], "quote": first.get("quote"), "what": e.get("what", ""),
            "claims": [r["id"] for r in failing], "corrected": cor,
            "corrected_verdict": recs[cor]["verdict"] if cor in recs else None,
            "source": first["source"], "statement": first["statement"],
            "counterexample": first.get("counterexample"), "certificate": first.get("certificate"),
            "error": first.get("error"), "max_error": first.get("max_error"),
            "replay": replay_command(first["id"], first.get("counterexample"),
                                     (first.get("details") or {}).get("counterexample_sweep")),
        })
    for r in recs.values():
        if r.get("form") == "printed" and r["verdict"] == "fails" and r["id"] not in named:
            out.append({
                "id": None, "paper": r["paper"], "suite": r["id"].split(".", 1)[0],
                "lines": r.get("lines"), "kind": "unregistered", "quote": r.get("quote"),
                "what": "a failing printed claim that names no erratum", "claims": [r["id"]],
                "corrected": None, "corrected_verdict": None, "source": r["source"],
                "statement": r["statement"], "counterexample": r.get("counterexample"),
                "certificate": r.get("certificate"), "error": r.get("error"),
                "max_error": r.get("max_error"),
                "replay": replay_command(r["id"], r.get("counterexample"),
                                         (r.get("details") or {}).get("counterexample_sweep")),
            })
    out.sort(key=lambda e: (e["paper"], (e["lines"] or [0])[0], e["id"] or ""))
    return out


def _cell(x) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def _cert(c: dict | None) -> str:
    if not c:
        return "none"
    lb = c.get("violation_lower_bound")
    s = f"{c.get('method')}, violation ≥ {lb:.3g}" if isinstance(lb, (int, float)) else str(c.get("method"))
    if c.get("method") == "float" and c.get("violation_in_error_units") is not None:
        s += f" ({c['violation_in_error_units']:.3g} × the route's error)"
    return s


def to_markdown(errata: list[dict], *, heading: str | None = "Errata") -> str:
    """One table row per erratum, then each erratum's quote, counterexample and replay."""
    lines = [f"## {heading}", ""] if heading else []
    if not errata:
        return "\n".join(lines + ["No printed statement is refuted.", ""])
    lines += ["| erratum | paper | source (seed lines) | kind | what is wrong | certificate | corrected by |",
              "|---|---|---|---|---|---|---|"]
    for e in errata:
        ln = e["lines"]
        where = f"{e['source']} (L{ln[0]}–{ln[1]})" if ln else e["source"]
        cor = f"`{e['corrected']}` ({e['corrected_verdict'] or 'not run'})" if e["corrected"] else "—"
        lines.append(f"| {e['id'] or '**unregistered**'} | {e['suite']} | {_cell(where)} | {e['kind']} | "
                     f"{_cell(e['what'])} | {_cert(e['certificate'])} | {cor} |")
    lines.append("")
    for e in errata:
        lines += [f"### {e['id'] or e['claims'][0]}: {_cell(e['source'])}", ""]
        if e.get("quote"):
            lines += [f"> {e['quote']}", "", f"— `{e['paper']}`, lines {e['lines'][0]}–{e['lines'][1]}", ""]
        lines.append(f"- claims: {', '.join(f'`{c}`' for c in e['claims'])}")
        if e.get("counterexample") is not None:
            lines.append(f"- smallest counterexample: `{json.dumps(e['counterexample'])}`")
        if e.get("certificate"):
            lines.append(f"- certificate: {_cert(e['certificate'])} — {_cell(e['certificate'].get('note', ''))}")
        if e.get("replay"):
            lines.append(f"- replay: `{e['replay']}`")
        lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------ generated tables in the docs

#: the README / docs blocks between these markers are generated (``python -m lintheory.errata``)
BEGIN, END = "<!-- errata:begin {name} -->", "<!-- errata:end {name} -->"
_PAPER_SUITES = ("svm", "lora_margin", "s2ft", "adadare", "perturb_merge", "coto")


def summary_markdown(suites: Sequence[str] = _PAPER_SUITES) -> str:
    """The README's results table: per suite, its claims and the errata of its paper.

    Built from the registry (forms and expected verdicts, which ``lintheory verify``
    confirms at exit 0) and the errata data -- no hand-typed numbers.
    """
    reg = registry(list(suites) + ["proofs"])
    data = errata_data(list(suites) + ["proofs"])
    rows = ["| suite | claims (+ proof steps) | printed | refuted printed statements | errata (one per defect) |",
            "|---|---|---|---|---|"]
    for s in suites:
        cs = [c for c in reg.values() if c.group == s]
        ps = [c for c in reg.values() if c.group == "proofs" and c.id.split(".")[1] == s]
        printed = [c for c in cs + ps if c.form == "printed"]
        refuted = [c for c in printed if c.expected == "fails"]
        errs = sorted({c.erratum for c in refuted if c.erratum})
        rows.append(f"| {s} | {len(cs)} (+{len(ps)}) | {len(printed)} | {len(refuted)} | "
                    + (", ".join(f"{e} ({data[e]['kind']})" for e in errs) or "—") + " |")
    total = sum(c.form == "printed" and c.expected == "fails" for c in reg.values())
    rows += ["", f"{total} refuted printed statements, {len(data)} errata (one per defect):", ""]
    for eid, e in data.items():
        first = min((reg[c] for c in e["claims"]), key=lambda c: (c.lines or (0, 0))[0])
        ln = f", L{first.lines[0]}" if first.lines else ""
        rows.append(f"- **{eid}** ({_cell(first.source)}{ln}; {e['kind']}): {_cell(e.get('what', ''))}")
    return "\n".join(rows)


def paper_errata_markdown(suite: str) -> str:
    """A paper page's errata table: one row per erratum of ``suite`` (and its proof steps)."""
    reg = registry([suite, "proofs"])
    data = errata_data([suite, "proofs"])
    mine = {eid: e for eid, e in data.items()
            if any(cid.split(".")[0] == suite or (cid.startswith("proofs.") and cid.split(".")[1] == suite)
                   for cid in e["claims"])}
    if not mine:
        return "No printed statement of this paper is refuted."
    rows = ["| erratum | where (seed lines) | kind | what is wrong | claims | corrected by |",
            "|---|---|---|---|---|---|"]
    for eid, e in sorted(mine.items(), key=lambda kv: min((reg[c].lines or (0, 0))[0] for c in kv[1]["claims"])):
        cl = [reg[c] for c in e["claims"]]
        lo = min(c.lines[0] for c in cl if c.lines)
        hi = max(c.lines[1] for c in cl if c.lines)
        rows.append(f"| {eid} | {_cell(cl[0].source)} (L{lo}–{hi}) | {e['kind']} | {_cell(e.get('what', ''))} | "
                    + ", ".join(f"`{c.id}`" for c in cl) + f" | `{e.get('corrected')}` |")
    return "\n".join(rows)


def paper_claims_markdown(suite: str) -> str:
    """A paper page's claims table: every claim of ``suite`` and its derivation steps, from the registry."""
    reg = registry([suite, "proofs"])
    cs = [c for c in reg.values() if belongs_to(c, [suite])]
    cs.sort(key=lambda c: (c.group == "proofs", (c.lines or (10**9, 0))[0], c.id))
    rows = ["| claim | form | expected | source | what its number measures |", "|---|---|---|---|---|"]
    for c in cs:
        exp = f"**{c.expected}**" if c.expected == "fails" else c.expected
        rows.append(f"| `{c.id}` | {c.form} | {exp} | {_cell(c.source)} | {_cell(c.error)} |")
    return "\n".join(rows)


def render_block(text: str, name: str, body: str) -> str:
    """``text`` with the block ``name`` between its markers replaced by ``body``."""
    b, e = BEGIN.format(name=name), END.format(name=name)
    if b not in text or e not in text:
        raise InputError(f"no generated block {name!r} (markers {b} ... {e})")
    head, rest = text.split(b, 1)
    _, tail = rest.split(e, 1)
    return f"{head}{b}\n{body}\n{e}{tail}"


def generated_files(root) -> dict:
    """``{path: new text}`` for the README and every paper page that carries errata markers."""
    from pathlib import Path

    root = Path(root)
    out = {}
    readme = root / "README.md"
    if readme.is_file() and BEGIN.format(name="summary") in readme.read_text(encoding="utf-8"):
        out[readme] = render_block(readme.read_text(encoding="utf-8"), "summary", summary_markdown())
    for suite in _PAPER_SUITES:
        page = root / "docs" / "papers" / f"{suite}.md"
        if page.is_file() and BEGIN.format(name=suite) in page.read_text(encoding="utf-8"):
            text = render_block(page.read_text(encoding="utf-8"), suite, paper_errata_markdown(suite))
            if BEGIN.format(name=f"{suite}-claims") in text:
                text = render_block(text, f"{suite}-claims", paper_claims_markdown(suite))
            out[page] = text
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lintheory.errata [ROOT]``: rewrite the generated errata blocks of the docs."""
    import sys

    root = (argv if argv is not None else sys.argv[1:]) or ["."]
    for path, text in generated_files(root[0]).items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

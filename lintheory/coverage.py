"""Coverage: every numbered result of a paper, with the claims that decide it.

Each suite keeps its paper's index of results as data beside its code (the
``[[results]]`` array of its ``paper.toml``)::

    [[results]]
    result = "Theorem 3.1"
    lines = [280, 301]
    claims = ["lora_margin.thm3_1.structure.corrected"]
    reason = ""          # why no claim can decide it, when claims is empty

``lintheory coverage`` lists them; a row with neither claims nor a reason, or naming a
claim that is not registered, is an error.
"""

from __future__ import annotations

from typing import Sequence

from .claims import belongs_to, registry, with_proofs
from .errors import InputError
from .paperdata import data_for_module

__all__ = ["coverage_rows", "to_markdown", "REASONS"]

#: the usual reasons a numbered result has no claim (a specific sentence is fine too)
REASONS = ("definition only", "cited from another paper",
           "needs data or models that cannot be had offline", "empirical statement, no closed form")


def coverage_rows(suites: Sequence[str] | None = None) -> list[dict]:
    """The coverage index of the given suites: ``{paper, suite, result, location, claims, reason}`` rows."""
    reg = registry(with_proofs(suites))
    mods = []
    for c in reg.values():
        if not belongs_to(c, suites):
            continue
        m = getattr(c.check, "__module__", None)
        paper = c.id.split(".")[1] if c.group == "proofs" else c.group  # a step belongs to its paper
        if (m, paper) not in mods:
            mods.append((m, paper))
    rows = []
    seen: dict = {}
    for mod, suite in mods:
        data = data_for_module(mod)
        seed = data.get("seed")
        for r in data.get("results", []):
            key = (seed, r.get("result"), suite)
            unknown = [c for c in r.get("claims", []) if c not in reg]
            if unknown:
                raise InputError(f"coverage of {suite}: {r.get('result')!r} names unregistered claim {unknown[0]!r}")
            if key in seen:  # the same result indexed by the suite and by its proof steps: one row
                row = seen[key]
                row["claims"] += [c for c in r.get("claims", []) if c not in row["claims"]]
                if row["claims"]:
                    row["reason"] = None
                continue
            claims = list(r.get("claims", []))
            reason = str(r.get("reason", "")).strip()
            missing = [c for c in claims if c not in reg]
            if missing:
                raise InputError(f"coverage of {suite}: {r.get('result')!r} names unregistered claim {missing[0]!r}")
            if not claims and not reason:
                raise InputError(f"coverage of {suite}: {r.get('result')!r} has neither claims nor a reason")
            row = {"paper": seed, "suite": suite, "result": r.get("result"),
                   "location": list(r.get("lines", [])) or None, "claims": claims,
                   "reason": reason or None}
            seen[key] = row
            rows.append(row)
    rows.sort(key=lambda r: (str(r["paper"]), (r["location"] or [0])[0], r["result"] or ""))
    return rows


def to_markdown(rows: list[dict]) -> str:
    lines = ["| paper | result | lines | claims | reason none can decide it |", "|---|---|---|---|---|"]
    for r in rows:
        loc = f"{r['location'][0]}–{r['location'][1]}" if r["location"] else "—"
        cl = ", ".join(f"`{c}`" for c in r["claims"]) or "—"
        lines.append(f"| {r['suite']} | {r['result']} | {loc} | {cl} | {r['reason'] or ''} |")
    decided = sum(bool(r["claims"]) for r in rows)
    lines += ["", f"{len(rows)} numbered results, {decided} decided by claims, {len(rows) - decided} with a reason."]
    return "\n".join(lines)

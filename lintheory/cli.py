"""The ``lintheory`` console script.

::

    lintheory list     [--paper P] [--json]
    lintheory verify   [--paper P ...] [--claim ID ...] [--profile quick|full]
                       [--device auto|cpu|cuda] [--seed N] [--jobs N] [--out DIR]
    lintheory figures  [--only NAME ...] [--out DIR] [--device ...]
    lintheory proofs   [--paper P]

Exit codes: 0 when every verdict equals its expected verdict (skips allowed), 1 when
any differs, 2 for bad usage or bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Sequence

from . import __version__
from .claims import PAPERS, PROFILES, load_claims, registry, run_claim, select_claims
from .errors import InputError
from ._device import DEVICES, resolve_device

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's default prints usage too)
        raise _UsageError(message)


class Progress:
    """A one-line progress bar on a terminal; plain lines otherwise."""

    def __init__(self, total: int, stream=None, enabled: bool | None = None):
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if enabled is None else enabled
        self.t0 = time.perf_counter()

    def update(self, label: str, verdict: str = "", seconds: float | None = None) -> None:
        self.done += 1
        if self.tty:
            width = 28
            k = int(width * self.done / self.total)
            bar = "#" * k + "-" * (width - k)
            el = time.perf_counter() - self.t0
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {el:6.1f}s {label[:48]:<48}")
            if self.done >= self.total:
                self.stream.write("\n")
        else:
            sec = f" ({seconds:.2f}s)" if seconds is not None else ""
            self.stream.write(f"[{self.done}/{self.total}] {label} {verdict}{sec}\n")
        self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="lintheory", description="Verify the closed forms of five papers on linear models.")
    p.add_argument("--version", action="version", version=f"lintheory {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    pl = sub.add_parser("list", help="list the registered claims")
    pl.add_argument("--paper", choices=PAPERS)
    pl.add_argument("--json", action="store_true", help="print JSON instead of a table")

    pv = sub.add_parser("verify", help="run the claims and write report.json / report.md")
    pv.add_argument("--paper", action="append", choices=PAPERS, help="only these papers (repeatable)")
    pv.add_argument("--claim", action="append", help="only these claim ids or id prefixes (repeatable)")
    pv.add_argument("--profile", choices=PROFILES, default="quick")
    pv.add_argument("--device", choices=DEVICES, default="cpu")
    pv.add_argument("--seed", type=int, default=0)
    pv.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    pv.add_argument("--out", default="lintheory-report", help="output folder (default: %(default)s)")

    pf = sub.add_parser("figures", help="regenerate the theory figures (PDF + PNG)")
    pf.add_argument("--only", action="append", help="figure key, name or paper (repeatable)")
    pf.add_argument("--out", default="lintheory-figures")
    pf.add_argument("--device", choices=DEVICES, default="cpu")
    pf.add_argument("--profile", choices=PROFILES, default="quick")
    pf.add_argument("--seed", type=int, default=0)

    pp = sub.add_parser("proofs", help="run the step-by-step derivation checks")
    pp.add_argument("--paper", help="only the proofs of this paper (e.g. svm, lora_margin)")
    pp.add_argument("--seed", type=int, default=0)
    return p


def _print_table(records: list[dict], stream=None) -> None:
    stream = stream or sys.stdout
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(r["id"].split(".", 1)[0], []).append(r)
    w = max([len(r["id"]) for r in records] + [10])
    for g, recs in groups.items():
        n_ok = sum(r["verdict"] in (r["expected"], "skipped") for r in recs)
        stream.write(f"\n{g}  ({n_ok}/{len(recs)} as expected)\n")
        stream.write(f"  {'claim':<{w}}  {'expected':<8}  {'verdict':<12}  {'max error':>10}  {'tol':>8}\n")
        for r in recs:
            flag = "" if r["verdict"] in (r["expected"], "skipped") else "  <-- differs"
            me = r["max_error"]
            me = f"{me:.2e}" if isinstance(me, float) else str(me if me is not None else "-")
            tol = r["tolerance"]
            tol = f"{tol:.0e}" if isinstance(tol, float) else str(tol if tol is not None else "-")
            stream.write(f"  {r['id']:<{w}}  {r['expected']:<8}  {r['verdict']:<12}  {me:>10}  {tol:>8}{flag}\n")


def _run_records(claims, profile, seed, device, jobs, progress) -> list[dict]:
    from .executor import run_many

    return run_many(claims, profile=profile, seed=seed, device=device, jobs=jobs,
                    on_record=lambda r: progress.update(r["id"], r["verdict"], r["seconds"]))


def cmd_list(args) -> int:
    claims = select_claims(papers=[args.paper] if args.paper else None)
    if args.json:
        json.dump([c.describe() for c in claims], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    w = max([len(c.id) for c in claims] + [5])
    for c in claims:
        sys.stdout.write(f"{c.id:<{w}}  {c.form:<9}  expected {c.expected:<5}  {c.source}\n")
    sys.stdout.write(f"{len(claims)} claims\n")
    return EXIT_OK


def cmd_verify(args) -> int:
    from .report import build_report, regressions, write_report

    if args.jobs < 1:
        raise InputError(f"--jobs must be a positive integer, got {args.jobs}")
    device = resolve_device(args.device)
    claims = select_claims(papers=args.paper, ids=args.claim)
    if not claims:
        raise InputError("no claims selected")
    progress = Progress(len(claims))
    records = _run_records(claims, args.profile, args.seed, device, args.jobs, progress)
    report = build_report(records, profile=args.profile, device=device, seed=args.seed)
    jpath, mpath = write_report(args.out, report)
    _print_table(report["claims"])
    regs = regressions(report)
    sys.stdout.write(f"\n{len(report['claims'])} claims, {len(regs)} differ from expected; "
                     f"wrote {jpath} and {mpath}\n")
    return EXIT_REGRESSION if regs else EXIT_OK


def cmd_figures(args) -> int:
    from .plotting import run_figures

    device = resolve_device(args.device)
    written = run_figures(args.out, args.only, profile=args.profile, seed=args.seed, device=device,
                          on_done=lambda key, paths: sys.stdout.write(
                              f"wrote {', '.join(str(p) for p in paths)}\n"))
    sys.stdout.write(f"{len(written)} files in {args.out}\n")
    return EXIT_OK


def cmd_proofs(args) -> int:
    claims = select_claims(papers=["proofs"])
    if args.paper:
        claims = [c for c in claims if c.id.split(".")[1] == args.paper]
        if not claims:
            known = sorted({c.id.split(".")[1] for c in select_claims(papers=["proofs"])})
            raise InputError(f"no proofs for paper {args.paper!r}; known: {', '.join(known)}")
    records = []
    for c in claims:
        r = run_claim(c, profile="quick", seed=args.seed, device="cpu")
        records.append(r)
    _print_table(records)
    bad = [r for r in records if r["verdict"] not in (r["expected"], "skipped")]
    sys.stdout.write(f"\n{len(records)} derivation steps, {len(bad)} differ from expected\n")
    return EXIT_REGRESSION if bad else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        handler = {"list": cmd_list, "verify": cmd_verify, "figures": cmd_figures,
                   "proofs": cmd_proofs}[args.command]
        return handler(args)
    except _UsageError as exc:
        sys.stderr.write(f"lintheory: error: {exc}\n")
        return EXIT_USAGE
    except InputError as exc:
        sys.stderr.write(f"lintheory: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("lintheory: interrupted; no report was written\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

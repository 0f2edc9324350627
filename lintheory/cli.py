"""The ``lintheory`` console script.

::

    lintheory list     [--paper P] [--json]
    lintheory verify   [--paper P ...] [--claim ID ...] [--profile quick|full]
                       [--device auto|cpu|cuda] [--seed N] [--jobs N] [--out DIR]
                       [--executor local|dask] [--scheduler ADDRESS] [--resume]
    lintheory figures  [--only NAME ...] [--out DIR] [--device ...] [--jobs N]
    lintheory proofs   [--paper P]

Exit codes: 0 when every verdict equals its expected verdict (skips allowed), 1 when
any differs, 2 for bad usage, bad input or a lost worker (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Callable, Sequence

from . import __version__
from .claims import PAPERS, PROFILES, run_claim, select_claims
from .errors import ExecutorError, InputError
from ._device import DEVICES, resolve_device
from .executor import DEFAULT_CONNECT_TIMEOUT, EXECUTORS

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    #: ``() -> str`` computed when the help is shown (e.g. the figure names, which need imports).
    lazy_epilog = None

    def error(self, message):  # one line, exit 2 (argparse's default prints usage too)
        raise _UsageError(message)

    def format_help(self):
        if self.lazy_epilog is not None:
            self.epilog = self.lazy_epilog()
        return super().format_help()


def _figures_epilog() -> str:
    from .plotting import figure_registry

    reg = figure_registry()
    w = max(map(len, reg))
    return "figures (--only takes a name, its short name or a paper):\n" + "\n".join(
        f"  {key:<{w}}  {spec.description}" for key, spec in reg.items())


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
    pl.add_argument("--paper", action="append", help="only these papers/suites (repeatable)")
    pl.add_argument("--suite", action="append", default=[], metavar="PATH_OR_MODULE", help="a suite to load for this run: a Python file or an importable module (repeatable)")
    pl.add_argument("--json", action="store_true", help="print JSON instead of a table")

    pv = sub.add_parser("verify", help="run the claims and write report.json / report.md")
    pv.add_argument("--paper", action="append",
                    help="only these papers/suites (repeatable): " + ", ".join(PAPERS) + " or any installed suite")
    pv.add_argument("--suite", action="append", default=[], metavar="PATH_OR_MODULE", help="a suite to load for this run: a Python file or an importable module (repeatable)")
    pv.add_argument("--seeds", metavar="A-B|LIST",
                    help="run every selected claim at each of these seeds (e.g. 0-19 or 0,3,7); writes "
                         "OUT/seed_S/ per seed and OUT/seeds.json; a claim whose verdict differs between "
                         "seeds is seed-dependent (exit 1)")
    pv.add_argument("--claim", action="append", help="only these claim ids or id prefixes (repeatable)")
    pv.add_argument("--profile", choices=PROFILES, default="quick")
    pv.add_argument("--device", choices=DEVICES, default="cpu")
    pv.add_argument("--seed", type=int, default=0)
    pv.add_argument("--jobs", type=int, default=1,
                    help="local worker processes, one BLAS/torch thread each (default: 1)")
    pv.add_argument("--out", default="lintheory-report", help="output folder (default: %(default)s)")
    pv.add_argument("--figures", metavar="DIR",
                    help="embed the figures' PNGs from DIR in report.html, making there first the "
                         "missing figures of every paper verified whole (default: use OUT/figures "
                         "if it exists, make none)")
    pv.add_argument("--executor", choices=EXECUTORS, default="local",
                    help="local (this machine, see --jobs) or dask (an existing cluster, "
                         "see --scheduler)")
    pv.add_argument("--scheduler", metavar="ADDRESS",
                    help="Dask scheduler address for --executor dask, e.g. tcp://host:8786")
    pv.add_argument("--connect-timeout", type=float, default=DEFAULT_CONNECT_TIMEOUT,
                    metavar="SECONDS",
                    help="how long to wait for the Dask scheduler and a worker (default: %(default)s)")
    pv.add_argument("--resume", action="store_true",
                    help="reuse the records in OUT/records/ written by an earlier run with the "
                         "same profile, seed and device; run only the rest")

    pf = sub.add_parser("figures", help="regenerate the theory figures (PDF + PNG)",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    pf.lazy_epilog = _figures_epilog
    pf.add_argument("--only", action="append", help="figure key, name or paper (repeatable)")
    pf.add_argument("--out", default="lintheory-figures", help="output folder (default: %(default)s)")
    pf.add_argument("--device", choices=DEVICES, default="cpu")
    pf.add_argument("--profile", choices=PROFILES, default="quick")
    pf.add_argument("--seed", type=int, default=0)
    pf.add_argument("--jobs", type=int, default=1,
                    help="figures made in parallel by this many local worker processes (default: 1)")

    pp = sub.add_parser("proofs", help="run the step-by-step derivation checks")
    pp.add_argument("--paper", action="append",
                    help="only the proofs of this paper (e.g. svm, lora_margin; repeatable)")
    pp.add_argument("--seed", type=int, default=0)

    pe = sub.add_parser("errata", help="one erratum per defect of the papers: quote, counterexample, "
                                       "certificate, corrected claim and replay command")
    pe.add_argument("--paper", action="append", help="only these papers/suites (repeatable)")
    pe.add_argument("--suite", action="append", default=[], metavar="PATH_OR_MODULE", help="a suite to load for this run: a Python file or an importable module (repeatable)")
    fmt = pe.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--md", action="store_true", help="print Markdown (the default is a short table)")
    pe.add_argument("--report", help="take the counterexamples from this report.json instead of running "
                                     "the claims")
    pe.add_argument("--seed", type=int, default=0)

    pc = sub.add_parser("coverage", help="every numbered result of each paper, with the claims that decide "
                                         "it or the reason none can")
    pc.add_argument("--paper", action="append", help="only these papers/suites (repeatable)")
    pc.add_argument("--suite", action="append", default=[], metavar="PATH_OR_MODULE", help="a suite to load for this run: a Python file or an importable module (repeatable)")
    pc.add_argument("--json", action="store_true", help="print JSON rows {paper, result, location, claims, reason}")

    pm = sub.add_parser("mutants", help="apply plausible bugs one at a time and report which claims catch "
                                        "them (exit 1 if one survives)")
    pm.add_argument("--paper", action="append", help="only the mutants of these suites (repeatable)")
    pm.add_argument("--suite", action="append", default=[], metavar="PATH_OR_MODULE", help="a suite to load for this run: a Python file or an importable module (repeatable)")
    pm.add_argument("--mutant", action="append", help="only these mutant ids or prefixes (repeatable)")
    pm.add_argument("--list", action="store_true", help="list the mutants without running them")
    pm.add_argument("--json", action="store_true", help="print JSON rows {id, paper, description, killed_by}")

    pi = sub.add_parser("init", help="write an installable suite package for your own theorem")
    pi.add_argument("name", help="the suite's name (a Python identifier; the first part of its claim ids)")
    pi.add_argument("--dir", help="where to write it (default: ./NAME)")
    pi.add_argument("--force", action="store_true", help="write into a non-empty directory")

    pr = sub.add_parser("replay", help="re-run one instance (a stored counterexample) of a claim")
    pr.add_argument("claim", help="claim id")
    pr.add_argument("--suite", action="append", default=[], metavar="PATH_OR_MODULE",
                    help="the suite of the claim, when it is not installed (repeatable)")
    src = pr.add_mutually_exclusive_group(required=True)
    src.add_argument("--counterexample", help="the instance as JSON (e.g. copied from report.json)")
    src.add_argument("--report", help="a report.json whose counterexample for this claim to replay")
    pr.add_argument("--sweep", type=int, default=None,
                    help="which sweep of the check produced it (default: from the report, else 0)")
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


def cmd_list(args) -> int:
    claims = select_claims(papers=args.paper)
    if args.json:
        json.dump([c.describe() for c in claims], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    w = max([len(c.id) for c in claims] + [5])
    for c in claims:
        sys.stdout.write(f"{c.id:<{w}}  {c.form:<9}  expected {c.expected:<5}  {c.source}\n")
    sys.stdout.write(f"{len(claims)} claims\n")
    return EXIT_OK


EXIT_INTERRUPTED = 130


class _InterruptFlag:
    """Notes a SIGINT (Ctrl-C) while it is active, then raises KeyboardInterrupt as usual.

    On a terminal Ctrl-C reaches the worker processes too; the back end may then
    report a lost worker before the interrupt surfaces here.  The flag tells the two apart.

    Python runs a signal handler only between bytecodes, so a claim inside one long call
    into compiled code (a LAPACK factorisation, a solver's C loop) held Ctrl-C off for as
    long as that call lasted (67 s was seen under ``--jobs 2``).  With ``on_stuck``, a
    watchdog thread is woken by the signal itself (:func:`signal.set_wakeup_fd`, written
    by the interpreter's C-level handler, in whichever thread the signal lands) and gives
    the ordinary path :attr:`GRACE_S` seconds; if the run is still inside the ``with``
    block by then, it calls ``on_stuck()`` (which says so and stops the workers) and ends
    the process with exit status 130.  Every finished record is already on disk, written
    atomically, so ``--resume`` loses nothing.  (Compiled code that keeps the GIL would
    hold the watchdog off too; numpy, scipy, torch, Clarabel and hashlib release it in
    their long calls.)  A solver that takes SIGINT for itself (SCS) is the business of
    :func:`lintheory._interrupts.solver_interrupts_raise`.
    """

    seen = False
    #: Seconds between Ctrl-C and a hard stop when the run has not stopped by itself.
    GRACE_S = 3.0

    def __init__(self, on_stuck: Callable[[], None] | None = None):
        self._on_stuck = on_stuck

    def __enter__(self):
        import signal

        self._old = None
        self._pipe = None
        self._left = threading.Event()
        if threading.current_thread() is threading.main_thread():
            self._old = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
            if self._on_stuck is not None:
                r, w = os.pipe()
                os.set_blocking(w, False)
                self._old_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
                self._pipe = (r, w)
                threading.Thread(target=self._watch, args=(r,), daemon=True,
                                 name="lintheory-interrupt-watchdog").start()
        return self

    def _handle(self, signum, frame):
        self.seen = True
        raise KeyboardInterrupt

    def _watch(self, r: int) -> None:
        import signal

        try:
            while True:
                data = os.read(r, 64)  # blocks without the GIL until a signal or __exit__
                if not data or self._left.is_set():
                    return
                if signal.SIGINT in data:
                    break
            if self._left.wait(self.GRACE_S):
                return  # the run stopped by itself
            self.seen = True
            self._on_stuck()
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        finally:
            os.close(r)

    def __exit__(self, *exc):
        import signal

        self._left.set()
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        if self._pipe is not None:
            signal.set_wakeup_fd(self._old_fd)
            os.close(self._pipe[1])  # the watchdog reads end-of-file and returns
        return False


def _interrupted(record_dir) -> int:
    from .executor import kill_workers

    kill_workers()  # they ignore Ctrl-C and would finish their current unit first
    sys.stderr.write(f"lintheory: interrupted; records so far kept in {record_dir}, "
                     f"rerun with --resume\n")
    return EXIT_INTERRUPTED


def cmd_verify(args) -> int:
    if getattr(args, "seeds", None):
        return _verify_seeds(args)
    from .executor import RecordStore, connect_dask, run_many
    from .report import build_report, check_out_dir, regressions, write_report

    # Every check of the arguments comes before anything is written.
    if args.jobs < 1:
        raise InputError(f"--jobs must be a positive integer, got {args.jobs}")
    if args.executor == "dask":
        if not args.scheduler:
            raise InputError("--executor dask needs --scheduler ADDRESS of a running Dask "
                             "scheduler (e.g. tcp://host:8786)")
        if args.jobs != 1:
            raise InputError("--jobs applies to --executor local; with --executor dask the "
                             "cluster's workers set the parallelism")
    elif args.scheduler:
        raise InputError("--scheduler needs --executor dask")
    if not args.connect_timeout > 0:
        raise InputError(f"--connect-timeout must be positive, got {args.connect_timeout}")
    check_out_dir(args.out)
    device = resolve_device(args.device)
    claims = select_claims(papers=args.paper, ids=args.claim)
    if not claims:
        raise InputError("no claims selected")
    run = dict(profile=args.profile, seed=args.seed, device=device)
    store = RecordStore(args.out)
    done = store.load(claims, **run) if args.resume else {}
    todo = [c for c in claims if c.id not in done]

    progress = Progress(len(claims))
    for rec in done.values():
        progress.update(rec["id"], f"{rec['verdict']} (resumed)")

    def finished(rec: dict) -> None:
        store.save(rec, **run)  # as soon as it is done: a killed run keeps it
        progress.update(rec["id"], rec["verdict"], rec["seconds"])

    said = threading.Lock()  # the one line is written once: by this thread or by the watchdog

    def stop() -> int:
        if said.acquire(blocking=False):
            _interrupted(store.dir)
        return EXIT_INTERRUPTED

    interrupted = _InterruptFlag(on_stuck=stop)
    client = None
    try:
        with interrupted:
            if args.executor == "dask":
                client = connect_dask(args.scheduler, args.connect_timeout)
            records = run_many(todo, jobs=args.jobs, client=client, on_record=finished, **run)
    except KeyboardInterrupt:
        return stop()
    except ExecutorError as exc:  # a lost worker decides nothing about a claim
        if interrupted.seen:  # Ctrl-C reached the workers too: that is why they are gone
            return stop()
        msg = " ".join(str(exc).split())  # loky's message spans lines: keep it one
        sys.stderr.write(f"lintheory: error: {msg}; no report was written; the finished claims "
                         f"are kept in {store.dir} (rerun with --resume)\n")
        return EXIT_USAGE
    finally:
        if client is not None:
            try:
                client.close()
            except BaseException:  # pragma: no cover - a second Ctrl-C while closing
                pass
    if args.jobs > 1:
        from .executor import kill_workers

        kill_workers(wait=True)  # idle now; left to the interpreter's exit they delay it
    records += list(done.values())
    report = build_report(records, **run)
    jpath, mpath, hpath = write_report(args.out, report, figures_dir=args.figures,
                                       generate_figures=args.figures is not None)
    _print_table(report["claims"])
    regs = regressions(report)
    resumed = f" ({len(done)} resumed from {store.dir})" if done else ""
    sys.stdout.write(f"\n{len(report['claims'])} claims{resumed}, {len(regs)} differ from expected; "
                     f"wrote {jpath}, {mpath} and {hpath}\n")
    return EXIT_REGRESSION if regs else EXIT_OK


def cmd_figures(args) -> int:
    from .plotting import run_figures

    if args.jobs < 1:
        raise InputError(f"--jobs must be a positive integer, got {args.jobs}")
    device = resolve_device(args.device)
    written = run_figures(args.out, args.only, profile=args.profile, seed=args.seed, device=device,
                          jobs=args.jobs, on_done=lambda key, paths: sys.stdout.write(
                              f"wrote {', '.join(str(p) for p in paths)}\n"))
    sys.stdout.write(f"{len(written)} files in {args.out}\n")
    return EXIT_OK


def cmd_proofs(args) -> int:
    claims = select_claims(papers=["proofs"])
    if args.paper:
        known = sorted({c.id.split(".")[1] for c in claims})
        unknown = [p for p in args.paper if p not in known]
        if unknown:
            raise InputError(f"no proofs for paper(s) {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(known)}")
        claims = [c for c in claims if c.id.split(".")[1] in args.paper]
    records = []
    for c in claims:
        r = run_claim(c, profile="quick", seed=args.seed, device="cpu")
        records.append(r)
    _print_table(records)
    bad = [r for r in records if r["verdict"] not in (r["expected"], "skipped")]
    sys.stdout.write(f"\n{len(records)} derivation steps, {len(bad)} differ from expected\n")
    return EXIT_REGRESSION if bad else EXIT_OK


def _missing_keys(claim_id: str, config: dict, sweep, first) -> list:
    """All keys the instance needs that ``config`` lacks: fill each missing one with a
    placeholder and replay again until a different error (or none) comes up."""
    from .claims import replay

    missing, probe = [first], dict(config)
    for _ in range(32):
        probe[missing[-1]] = 0
        try:
            replay(claim_id, probe, sweep_index=sweep)
            break
        except Exception as exc:  # another missing key, or a placeholder of the wrong type
            key = _missing_key(exc, probe)
            if key is None or key in missing:
                break
            missing.append(key)
    return missing


def _missing_key(exc: BaseException, config: dict):
    """The config key whose absence raised ``exc``, else ``None``: a KeyError of the
    instance's code, or a hypothesis check that names it (``name 'n' is not defined``)."""
    import re

    if isinstance(exc, KeyError):
        key = exc.args[0] if exc.args else None
    else:
        m = re.search(r"name '(\w+)' is not defined", str(exc))
        key = m.group(1) if m else None
    return key if key is not None and key not in config else None


def cmd_replay(args) -> int:
    """Re-evaluate one instance; prints its error against the claim's tolerance."""
    from .claims import replay

    sweep = args.sweep
    if args.report:
        try:
            with open(args.report, encoding="utf-8") as fh:
                recs = {r["id"]: r for r in json.load(fh)["claims"]}
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"cannot read report {args.report}: {exc}") from None
        rec = recs.get(args.claim)
        if rec is None or rec.get("counterexample") is None:
            raise InputError(f"{args.report} has no counterexample for claim {args.claim!r}")
        config = rec["counterexample"]
        if sweep is None:
            sweep = rec.get("details", {}).get("counterexample_sweep", 0)
    else:
        try:
            config = json.loads(args.counterexample)
        except ValueError as exc:
            raise InputError(f"--counterexample is not JSON: {exc}") from None
        if not isinstance(config, dict):
            raise InputError("--counterexample must be a JSON object")
    select_claims(ids=[args.claim])  # unknown ids: exit 2 with close matches
    try:
        out = replay(args.claim, config, sweep_index=sweep)
    except Exception as exc:
        key = _missing_key(exc, config)
        if key is None:  # not a missing field of the instance: a real bug, show it
            raise
        missing = _missing_keys(args.claim, config, sweep, key)
        raise InputError(f"the counterexample for {args.claim} lacks the key(s) "
                         f"{', '.join(map(repr, missing))} (it has {', '.join(map(repr, config))})"
                         ) from None
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool killed by a closed pipe


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # pragma: no cover - stdout not a real file
        pass


def _load_extra_suites(args) -> None:
    """Load every ``--suite`` before anything else (a bad suite: exit 2, one line)."""
    from .suites import load_suite

    for spec in getattr(args, "suite", None) or []:
        load_suite(spec)


def parse_seeds(text: str) -> list[int]:
    """``"0-19"``, ``"0,3,7"`` or ``"0-3,10"`` -> sorted distinct seeds; bad text raises InputError."""
    seeds: list[int] = []
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part[1:]:
                a, b = part.split("-", 1) if not part.startswith("-") else (part, "")
                a, b = int(a), int(b)
                if b < a:
                    raise ValueError(f"empty range {part}")
                seeds += range(a, b + 1)
            else:
                seeds.append(int(part))
    except ValueError as exc:
        raise InputError(f"--seeds must look like 0-19 or 0,3,7 (non-negative integers): {exc}") from None
    if not seeds or min(seeds) < 0:
        raise InputError(f"--seeds must name non-negative seeds, got {text!r}")
    return sorted(set(seeds))


def _verify_seeds(args) -> int:
    """``verify --seeds``: the selected claims at every seed; seed-dependent verdicts exit 1."""
    import copy
    from pathlib import Path

    from .report import atomic_write_text, check_out_dir

    seeds = parse_seeds(args.seeds)
    check_out_dir(args.out)
    out = Path(args.out)
    verdicts: dict[str, dict[int, str]] = {}
    expected: dict[str, str] = {}
    codes = {}
    for s in seeds:
        one = copy.copy(args)
        one.seeds, one.seed, one.out = None, s, str(out / f"seed_{s}")
        sys.stdout.write(f"\n== seed {s}\n")
        code = cmd_verify(one)
        if code not in (EXIT_OK, EXIT_REGRESSION):
            return code
        codes[s] = code
        rep = json.loads((out / f"seed_{s}" / "report.json").read_text(encoding="utf-8"))
        for r in rep["claims"]:
            verdicts.setdefault(r["id"], {})[s] = r["verdict"]
            expected[r["id"]] = r["expected"]
    dependent = {cid: v for cid, v in verdicts.items() if len(set(v.values()) - {"skipped"}) > 1}
    off = {cid: v for cid, v in verdicts.items()
           if any(x not in (expected[cid], "skipped") for x in v.values())}
    summary = {"seeds": seeds, "claims": len(verdicts), "seed_dependent": sorted(dependent),
               "differ_from_expected": sorted(off),
               "verdicts": {cid: {str(s): v for s, v in vs.items()} for cid, vs in sorted(verdicts.items())}}
    atomic_write_text(out / "seeds.json", json.dumps(summary, indent=2) + "\n")
    lines = [f"# Verdicts at {len(seeds)} seeds ({args.seeds})", "",
             f"{len(verdicts)} claims; {len(dependent)} seed-dependent; "
             f"{len(off)} differ from expected at some seed.", ""]
    for cid in sorted(set(dependent) | set(off)):
        lines.append(f"- `{cid}` (expected {expected[cid]}): "
                     + ", ".join(f"seed {s}: {v}" for s, v in sorted(verdicts[cid].items())))
    atomic_write_text(out / "seeds.md", "\n".join(lines) + "\n")
    sys.stdout.write(f"\n{len(seeds)} seeds x {len(verdicts)} claims: {len(dependent)} seed-dependent, "
                     f"{len(off)} differ from expected at some seed; wrote {out / 'seeds.json'}\n")
    for cid in sorted(dependent):
        sys.stdout.write(f"  seed-dependent: {cid}: "
                         + ", ".join(f"{s}={v}" for s, v in sorted(verdicts[cid].items())) + "\n")
    return EXIT_REGRESSION if dependent or off else EXIT_OK


def _suites_of(args) -> list[str] | None:
    """The suites named by --paper (None: every known suite, those of --suite included)."""
    from .suites import check_suite_names

    names = list(args.paper or [])
    if names:
        check_suite_names(names)
        return names
    return None


def cmd_errata(args) -> int:
    """``lintheory errata``: from a report (``--report``) or by running the claims involved."""
    from .errata import errata_claims, errata_from_records, to_markdown

    suites = _suites_of(args)
    if args.report:
        try:
            with open(args.report, encoding="utf-8") as fh:
                records = json.load(fh)["claims"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"cannot read report {args.report}: {exc}") from None
        if suites:
            records = [r for r in records if r["id"].split(".", 1)[0] in suites]
    else:
        claims = errata_claims(suites)
        progress = Progress(len(claims))
        records = []
        for c in claims:
            rec = run_claim(c, profile="quick", seed=args.seed)
            progress.update(c.id, rec["verdict"], rec["seconds"])
            records.append(rec)
    errata = errata_from_records(records, suites)
    if args.json:
        json.dump(errata, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.md:
        sys.stdout.write(to_markdown(errata) + "\n")
    else:
        for e in errata:
            ln = e["lines"]
            sys.stdout.write(f"{e['id'] or '(unregistered)':<18} {e['suite']:<14} L{ln[0]}-{ln[1]:<6} "
                             f"{e['kind']:<34} {e['source']}\n")
        sys.stdout.write(f"{len(errata)} errata\n")
    return EXIT_OK


def cmd_coverage(args) -> int:
    from .coverage import coverage_rows, to_markdown

    rows = coverage_rows(_suites_of(args))
    if args.json:
        json.dump([{k: r[k] for k in ("paper", "result", "location", "claims", "reason")} | {"suite": r["suite"]}
                   for r in rows], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(to_markdown(rows) + "\n")
    return EXIT_OK


def cmd_mutants(args) -> int:
    from .mutants import mutants, run_mutants

    suites = _suites_of(args)
    if args.list:
        reg = mutants(suites)
        for m in reg.values():
            sys.stdout.write(f"{m.id:<44} {m.target:<52} {m.description}\n")
        sys.stdout.write(f"{len(reg)} mutants\n")
        return EXIT_OK
    total = len(mutants(suites)) if not args.mutant else None
    progress = Progress(total or 1)

    def row_done(row):
        if total:
            progress.update(row["id"], "killed" if row["killed_by"] else "SURVIVED")

    rows = run_mutants(suites, args.mutant, on_row=row_done)
    survivors = [r for r in rows if not r["killed_by"]]
    if args.json:
        json.dump([{k: r[k] for k in ("id", "paper", "description", "killed_by")} for r in rows],
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for r in rows:
            state = ("killed by " + ", ".join(r["killed_by"])) if r["killed_by"] else "SURVIVED every claim"
            sys.stdout.write(f"{r['id']:<44} {state}\n")
        sys.stdout.write(f"{len(rows)} mutants, {len(rows) - len(survivors)} killed, "
                         f"{len(survivors)} survived\n")
    return EXIT_REGRESSION if survivors else EXIT_OK


def cmd_init(args) -> int:
    from .scaffold import write_scaffold

    written = write_scaffold(args.name, args.dir, force=args.force)
    for path in written:
        sys.stdout.write(f"wrote {path}\n")
    root = args.dir or args.name
    sys.stdout.write(f"next: pip install {root} && lintheory verify --paper {args.name}\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        _load_extra_suites(args)
        handler = {"errata": cmd_errata, "coverage": cmd_coverage, "mutants": cmd_mutants,
                   "init": cmd_init,
                   "list": cmd_list, "verify": cmd_verify, "figures": cmd_figures,
                   "proofs": cmd_proofs, "replay": cmd_replay}[args.command]
        code = handler(args)
        sys.stdout.flush()  # a closed pipe shows up here at the latest
        return code
    except BrokenPipeError:  # stdout closed early (`lintheory list --json | head`): be quiet
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except _UsageError as exc:
        sys.stderr.write(f"lintheory: error: {exc}\n")
        return EXIT_USAGE
    except InputError as exc:
        sys.stderr.write(f"lintheory: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("lintheory: interrupted; no report was written\n")
        return 130


def console_main() -> None:
    """The ``lintheory`` program: :func:`main`, then an exit without the interpreter's teardown.

    Python's own exit frees every module before the process ends, and with torch, cvxpy
    and sympy loaded that takes 0.4-0.9 s (torch alone 0.4 s, measured), after the
    report is written: a tenth of a one-claim run and 5 % of the quick profile.  Once
    the output is flushed and the atexit handlers have run (loky's, multiprocessing's,
    logging's), nothing is left to do, so the process ends there.  The normal exit is
    kept while a non-daemon thread still runs (it would be joined).
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a closed pipe: nothing more can be said
            pass
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.main_thread()):
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    console_main()

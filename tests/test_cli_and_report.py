"""The CLI and JSON contract: exit codes, files written, report fields."""

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from lintheory.cli import main
from lintheory.report import atomic_write_text, build_report, regressions, write_report

CONTRACT_FIELDS = {"id", "paper", "source", "statement", "form", "method", "expected", "verdict",
                   "instances", "max_error", "tolerance", "counterexample", "seconds", "seed", "details",
                   # second round (issues 11, 12): fairness and verdict-power fields
                   "quote", "lines", "hypotheses", "readings_checked", "readings", "erratum", "certificate",
                   "error", "alternative", "discrimination"}


def test_verify_writes_contract_report(tmp_path, capsys):
    code = main(["verify", "--claim", "svm.etf", "--claim", "svm.prop2_1.closed_form.printed",
                 "--out", str(tmp_path), "--seed", "5"])
    assert code == 0
    rep = json.loads((tmp_path / "report.json").read_text())
    assert {"lintheory", "created", "profile", "device", "seed", "versions", "claims"} <= set(rep)
    assert set(rep["versions"]) == {"python", "numpy", "scipy", "cvxpy", "torch"}
    assert rep["seed"] == 5 and rep["profile"] == "quick" and rep["device"] == "cpu"
    assert len(rep["claims"]) == 8
    for r in rep["claims"]:
        assert set(r) == CONTRACT_FIELDS
    md = (tmp_path / "report.md").read_text()
    assert "svm.prop2_1.closed_form.printed" in md and "Counterexamples" in md
    out = capsys.readouterr().out
    assert "svm  (8/8 as expected)" in out


def test_unknown_claim_exit_2_with_close_matches(capsys):
    assert main(["verify", "--claim", "svm.etf.gramm", "--out", "/nonexistent/x"]) == 2
    err = capsys.readouterr().err
    assert "svm.etf.gram" in err and err.count("\n") == 1


def test_bad_usage_exit_2(capsys):
    assert main(["verify", "--profile", "huge"]) == 2
    assert main(["verify", "--jobs", "0", "--claim", "svm.etf.gram"]) == 2
    assert main(["nosuchcommand"]) == 2


def test_cuda_without_cuda_is_exit_2(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    assert main(["verify", "--device", "cuda", "--claim", "svm.etf.gram"]) == 2
    assert "CUDA" in capsys.readouterr().err


def test_regression_gives_exit_1(tmp_path, monkeypatch):
    from lintheory import claims as C

    reg = C.registry()
    real = reg["svm.etf.gram"]
    fake = dataclasses.replace(real, expected="fails")
    monkeypatch.setitem(C._REGISTRY, "svm.etf.gram", fake)
    assert main(["verify", "--claim", "svm.etf.gram", "--out", str(tmp_path)]) == 1
    rep = json.loads((tmp_path / "report.json").read_text())
    assert len(regressions(rep)) == 1


def test_list_json(capsys):
    assert main(["list", "--paper", "svm", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert items and all(i["id"].startswith("svm.") for i in items)


def test_proofs_command(capsys):
    assert main(["proofs", "--paper", "svm"]) == 0
    assert "proofs.svm.thmD1.max_value" in capsys.readouterr().out
    assert main(["proofs", "--paper", "nosuch"]) == 2


def test_jobs_gives_same_records(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ids = ["--claim", "svm.etf.gram", "--claim", "svm.prop2_1.k_row_closed_form"]
    assert main(["verify", *ids, "--out", str(a)]) == 0
    assert main(["verify", *ids, "--jobs", "2", "--out", str(b)]) == 0
    ra = json.loads((a / "report.json").read_text())["claims"]
    rb = json.loads((b / "report.json").read_text())["claims"]
    for x, y in zip(ra, rb):
        x.pop("seconds"), y.pop("seconds")
    assert ra == rb


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    p = tmp_path / "report.json"
    atomic_write_text(p, "old")

    class Boom:
        def __str__(self):
            raise RuntimeError

    with pytest.raises(TypeError):
        atomic_write_text(p, Boom())  # writing fails before the rename
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["report.json"]


def test_console_script_runs():
    exe = os.path.join(os.path.dirname(sys.executable), "lintheory")
    res = subprocess.run([exe, "list", "--paper", "svm"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "svm.etf.gram" in res.stdout


def test_console_main_ends_after_flushing_output_and_atexit_handlers(tmp_path, capsys):
    """The program skips the interpreter's teardown (torch's alone is 0.4 s), and nothing else."""
    assert main(["list", "--paper", "svm"]) == 0
    listing = capsys.readouterr().out

    def program(argv, extra=""):
        code = ("import atexit, pathlib, sys, threading, time\n"
                "from lintheory.cli import console_main\n"
                f"atexit.register(lambda: pathlib.Path({str(tmp_path / 'atexit')!r}).write_text('ran'))\n"
                f"{extra}\n"
                f"sys.argv = ['lintheory', *{argv!r}]\n"
                "console_main()\n")
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)

    res = program(["list", "--paper", "svm"])
    assert res.returncode == 0 and res.stdout == listing  # all of it, flushed
    assert (tmp_path / "atexit").read_text() == "ran"
    # a thread that still runs is waited for, as at a normal exit
    late = tmp_path / "late"
    res = program(["list", "--paper", "svm"], "threading.Thread(target=lambda: (time.sleep(0.5), "
                  f"pathlib.Path({str(late)!r}).write_text('joined'))).start()")
    assert res.returncode == 0 and late.read_text() == "joined"
    res = program(["verify", "--claim", "svm.no_such_claim", "--out", str(tmp_path / "rep")])
    assert res.returncode == 2 and "unknown claim" in res.stderr


def test_figures_command_writes_pdf_and_png(tmp_path):
    assert main(["figures", "--only", "svm", "--out", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"svm_simplex_etf.pdf", "svm_simplex_etf.png"} <= names
    assert main(["figures", "--only", "nosuchfigure", "--out", str(tmp_path)]) == 2


def test_replay_command_from_report_and_json(tmp_path, capsys):
    assert main(["verify", "--claim", "svm.prop2_1.closed_form.printed", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["replay", "svm.prop2_1.closed_form.printed", "--report", str(tmp_path / "report.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    cex = json.loads((tmp_path / "report.json").read_text())["claims"][0]["counterexample"]
    assert out["verdict"] == "fails" and out["error"] == pytest.approx(cex["error"], rel=1e-9)
    # the same instance under the corrected statement
    assert main(["replay", "svm.prop2_1.closed_form.corrected", "--counterexample", json.dumps(cex)]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "holds"
    assert main(["replay", "svm.etf.gramm", "--counterexample", "{}"]) == 2
    assert main(["replay", "svm.etf.gram", "--counterexample", "not json"]) == 2


def test_figures_jobs_2_writes_the_same_images(tmp_path):
    serial, parallel = tmp_path / "serial", tmp_path / "jobs"
    assert main(["figures", "--only", "svm", "--out", str(serial)]) == 0
    assert main(["figures", "--only", "svm", "--jobs", "2", "--out", str(parallel)]) == 0
    pngs = sorted(p.name for p in serial.glob("*.png"))
    assert len(pngs) >= 2 and pngs == sorted(p.name for p in parallel.glob("*.png"))
    for name in pngs:  # Agg writes no timestamp into a PNG: equal pixels give equal bytes
        assert (serial / name).read_bytes() == (parallel / name).read_bytes(), name
    assert main(["figures", "--jobs", "0", "--out", str(parallel)]) == 2


# ------------------------------------------------------------ issue 13, part 4: the CLI's edges

def test_verify_out_is_checked_before_any_work(tmp_path, capsys, monkeypatch):
    from lintheory import executor

    ran = []
    monkeypatch.setattr(executor, "run_many", lambda *a, **k: ran.append(1) or [])
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for out, words in ((a_file, "existing file"), (a_file / "sub", "is a file")):
        assert main(["verify", "--claim", "svm.etf.gram", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1 and "Traceback" not in err
    assert not ran and a_file.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_verify_out_unwritable_folder_exit_2(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert main(["verify", "--claim", "svm.etf.gram", "--out", str(ro / "rep")]) == 2
        assert "cannot be created" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


def test_reports_and_records_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        assert main(["verify", "--claim", "svm.etf.gram", "--out", str(tmp_path)]) == 0
        os.umask(0o027)
        atomic_write_text(tmp_path / "other.txt", "x")
    finally:
        os.umask(old)
    files = [tmp_path / "report.json", tmp_path / "report.md", *(tmp_path / "records").glob("*.json")]
    assert len(files) >= 3
    for f in files:
        assert f.stat().st_mode & 0o777 == 0o644, f
    assert (tmp_path / "other.txt").stat().st_mode & 0o777 == 0o640


def test_ctrl_c_after_a_lost_worker_is_an_interrupt_not_a_crash(tmp_path, capsys, monkeypatch):
    """On a terminal Ctrl-C reaches the workers too; the back end may then report them lost."""
    import signal

    from lintheory import executor
    from lintheory.errors import ExecutorError

    def run_many(*a, **k):
        try:
            os.kill(os.getpid(), signal.SIGINT)  # the handler of verify notes it and raises
            signal.pthread_kill(threading.main_thread().ident, 0)
        except KeyboardInterrupt:
            pass  # swallowed by the back end, which then sees its workers gone
        raise ExecutorError("a worker was lost (TerminatedWorkerError: ... caused by a "
                            "segmentation fault ...\nThe exit codes ...)")

    import threading

    monkeypatch.setattr(executor, "run_many", run_many)
    assert main(["verify", "--claim", "svm.etf.gram", "--jobs", "2", "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "segmentation" not in err
    assert "interrupted; records so far kept" in err and "--resume" in err


def _group(pgid: int) -> list[int]:
    """The pids of the processes in process group ``pgid`` (Linux /proc)."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.getpgid(int(d)) == pgid:
                    pids.append(int(d))
            except OSError:
                pass
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_under_jobs_exit_130_one_line(tmp_path):
    """A real Ctrl-C in the middle of a full-profile run: one line, exit 130, no worker left.

    The full profile of lora_margin solves with SCS, which takes SIGINT for itself: before
    lintheory._interrupts the run went on to the end (exit 1) with the claims being solved
    recorded as inconclusive; in an earlier CI run it took 67 s to stop."""
    import signal
    import time

    out = tmp_path / "rep"
    # the full profile, so the run is still going when the signal comes (the quick profile of one
    # suite can finish within the wait on an idle machine)
    p = subprocess.Popen([sys.executable, "-m", "lintheory.cli", "verify", "--paper", "lora_margin",
                          "--profile", "full", "--jobs", "2", "--out", str(out)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    t0 = time.monotonic()
    # Mid-run: the workers have started (a worker interrupted in its first imports, before
    # it ignores SIGINT, would still print its own traceback).
    while not (out / "records").is_dir() and time.monotonic() - t0 < 120 and p.poll() is None:
        time.sleep(0.1)
    time.sleep(2.0)
    assert len(_group(p.pid)) >= 3 and p.poll() is None  # this process, a worker, loky's tracker
    os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C does: every process of the group
    t1 = time.monotonic()
    _, err = p.communicate(timeout=120)
    assert time.monotonic() - t1 < 60  # the workers are stopped, not waited for
    assert p.returncode == 130, err
    lines = [ln for ln in err.splitlines() if not ln.startswith("[")]  # progress lines
    assert lines == [f"lintheory: interrupted; records so far kept in {out / 'records'}, "
                     f"rerun with --resume"], err
    assert not (out / "report.json").exists()
    t0 = time.monotonic()  # and no worker is left behind
    while time.monotonic() - t0 < 30:
        try:
            os.killpg(p.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(p.pid, signal.SIGKILL)
        raise AssertionError("worker processes outlived the interrupted run")


STUCK_SUITE = '''
import hashlib, os, pathlib
from lintheory import claim, sweep

@claim(id="stuck.first", paper="stuck.txt", source="-", statement="0 >= 0", form="derived",
       method="numbers", expected="holds", error="absolute gap")
def _(ctx):
    return sweep([{"x": 0}], lambda c: 0.0, 0.0, hypotheses=())

@claim(id="stuck.second", paper="stuck.txt", source="-", statement="one long C call", form="derived",
       method="pbkdf2 in OpenSSL: minutes inside one call that never returns to Python", expected="holds",
       error="absolute gap")
def _(ctx):
    def ev(c):
        pathlib.Path(os.environ["STUCK_MARKER"]).write_text("in the long call")
        hashlib.pbkdf2_hmac("sha256", b"x", b"salt", 10**9)  # releases the GIL, ignores signals
        return 0.0
    return sweep([{"x": 0}], ev, 0.0, hypotheses=())
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_a_claim_stuck_in_compiled_code(tmp_path, jobs):
    """Python runs its SIGINT handler only between bytecodes: a claim inside one long call into
    compiled code (a LAPACK factorisation, a solver's C loop) would hold Ctrl-C off for as long
    as the call lasts.  The watchdog of ``verify`` stops the run a few seconds after the signal."""
    import signal
    import time

    suite, marker, out = tmp_path / "stuck.py", tmp_path / "marker", tmp_path / "rep"
    suite.write_text(STUCK_SUITE)
    p = subprocess.Popen([sys.executable, "-m", "lintheory.cli", "verify", "--suite", str(suite),
                          "--paper", "stuck", "--jobs", jobs, "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, STUCK_MARKER=str(marker)), start_new_session=True)
    t0 = time.monotonic()
    while not marker.exists() and time.monotonic() - t0 < 120 and p.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), p.communicate()
    time.sleep(0.3)  # well inside pbkdf2 (minutes long)
    os.killpg(p.pid, signal.SIGINT)
    t1 = time.monotonic()
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        raise AssertionError("Ctrl-C did not stop a claim stuck in compiled code within 60 s")
    stopped = time.monotonic() - t1
    assert p.returncode == 130, err
    lines = [ln for ln in err.splitlines() if not ln.startswith("[")]  # progress lines
    assert lines == [f"lintheory: interrupted; records so far kept in {out / 'records'}, "
                     f"rerun with --resume"], err
    assert (out / "records" / "stuck.first.json").exists() and not (out / "report.json").exists()
    # the grace period (3 s) plus start-up noise, against minutes of pbkdf2
    assert stopped < 30, stopped
    try:
        os.killpg(p.pid, signal.SIGKILL)  # nothing should be left; do not leak if something is
    except ProcessLookupError:
        pass


def test_closed_stdout_is_quiet():
    exe = os.path.join(os.path.dirname(sys.executable), "lintheory")
    res = subprocess.run(f"'{exe}' list --json | head -c 10", shell=True, capture_output=True,
                         text=True, timeout=300)
    assert res.stdout == '[\n  {\n    "id"'[:10], res
    assert "Error" not in res.stderr and "Traceback" not in res.stderr, res.stderr


def test_replay_incomplete_counterexample_names_the_missing_keys(capsys):
    assert main(["replay", "svm.prop2_1.closed_form.printed", "--counterexample", '{"Kb": 2}']) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    for key in ("'n'", "'d'", "'seed'"):
        assert key in err


def test_proofs_paper_is_repeatable(capsys):
    assert main(["proofs", "--paper", "svm", "--paper", "coto"]) == 0
    out = capsys.readouterr().out
    assert "proofs.svm." in out and "proofs.coto." in out and "proofs.s2ft." not in out
    assert main(["proofs", "--paper", "svm", "--paper", "nosuch"]) == 2
    assert "'nosuch'" in capsys.readouterr().err


def test_figures_help_lists_the_figures_and_the_default_out(capsys):
    from lintheory.plotting import figure_registry

    with pytest.raises(SystemExit) as exc:
        main(["figures", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "default: lintheory-figures" in out
    for key in figure_registry():
        assert key in out

"""The executor layer: serial, --jobs (joblib), Dask, and --resume give the same report."""

import json
import socket
import time

import pytest

from lintheory import executor as E
from lintheory.claims import claim_seed, sweep
from lintheory.cli import main

# Cheap claims that still exercise a solver and a failing (printed) statement with a
# counterexample, so that equality covers numbers, verdicts and counterexamples.
CLAIMS = ["svm.etf", "svm.prop2_1.k_row_closed_form", "svm.prop2_1.closed_form.printed"]
CLAIM_ARGS = [a for c in CLAIMS for a in ("--claim", c)]
TIMING_FIELDS = ("seconds",)
REPORT_TIMING_FIELDS = ("created",)


def _strip(report: dict) -> dict:
    """The report without wall-clock fields (what must not depend on the back end)."""
    rep = {k: v for k, v in report.items() if k not in REPORT_TIMING_FIELDS}
    rep["claims"] = [{k: v for k, v in r.items() if k not in TIMING_FIELDS}
                     for r in report["claims"]]
    return rep


def _report(path) -> dict:
    return json.loads((path / "report.json").read_text())


@pytest.fixture(scope="module", autouse=True)
def _stop_local_workers():
    """Shut joblib's reusable worker pool down after this module (it would idle for minutes)."""
    yield
    from joblib.externals.loky import reusable_executor

    if reusable_executor._executor is not None:
        reusable_executor._executor.shutdown(wait=True)


@pytest.fixture(scope="module")
def serial_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    assert main(["verify", *CLAIM_ARGS, "--seed", "3", "--out", str(out)]) == 0
    return _report(out)


def test_serial_report_covers_a_failing_claim(serial_report):
    ids = {r["id"]: r for r in serial_report["claims"]}
    assert len(ids) == 9
    printed = ids["svm.prop2_1.closed_form.printed"]
    assert printed["verdict"] == "fails" and printed["counterexample"] is not None


def test_jobs_2_gives_identical_records(tmp_path, serial_report, monkeypatch):
    assert main(["verify", *CLAIM_ARGS, "--seed", "3", "--jobs", "2", "--out", str(tmp_path)]) == 0
    assert _strip(_report(tmp_path)) == _strip(serial_report)


def test_dask_local_cluster_gives_identical_report(tmp_path, serial_report, monkeypatch):
    distributed = pytest.importorskip("distributed")
    _ship_every_batch(monkeypatch)  # every sweep's instances go to the cluster
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        code = main(["verify", *CLAIM_ARGS, "--seed", "3", "--executor", "dask",
                     "--scheduler", cluster.scheduler_address, "--connect-timeout", "30",
                     "--out", str(tmp_path)])
        assert code == 0
        # the work really ran on the cluster's workers
        with distributed.Client(cluster.scheduler_address, set_as_default=False) as c:
            assert len(c.scheduler_info()["workers"]) == 2
        # workers with another lintheory version are refused before any work is sent
        import lintheory

        monkeypatch.setattr(lintheory, "__version__", "0.0.0-other")
        with pytest.raises(E.InputError, match="another lintheory version"):
            E.connect_dask(cluster.scheduler_address, timeout=30)
    rep = _report(tmp_path)
    assert _strip(rep) == _strip(serial_report)
    assert {r["verdict"] for r in rep["claims"]} == {"holds", "fails"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_unreachable_scheduler_exit_2_fast_nothing_written(tmp_path, capsys):
    pytest.importorskip("distributed")  # the `dist` extra
    out = tmp_path / "rep"
    t0 = time.perf_counter()
    code = main(["verify", "--claim", "svm.etf.gram", "--executor", "dask",
                 "--scheduler", f"tcp://127.0.0.1:{_closed_port()}",
                 "--connect-timeout", "1", "--out", str(out)])
    elapsed = time.perf_counter() - t0
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in err and err.count("\n") == 1
    assert elapsed < 10, elapsed
    assert not out.exists()


def test_scheduler_without_workers_exit_2(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        out = tmp_path / "rep"
        assert main(["verify", "--claim", "svm.etf.gram", "--executor", "dask",
                     "--scheduler", cluster.scheduler_address, "--connect-timeout", "1",
                     "--out", str(out)]) == 2
    assert "has no workers" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["--executor", "slurm"], "invalid choice"),
    (["--executor", "dask"], "needs --scheduler"),
    (["--scheduler", "tcp://127.0.0.1:8786"], "needs --executor dask"),
    (["--executor", "dask", "--scheduler", "tcp://127.0.0.1:8786", "--jobs", "2"], "--jobs"),
    (["--jobs", "-1"], "positive"),
    (["--connect-timeout", "0", "--executor", "dask", "--scheduler", "tcp://h:1"], "positive"),
])
def test_bad_executor_usage_exit_2(tmp_path, capsys, argv, message):
    out = tmp_path / "rep"
    assert main(["verify", "--claim", "svm.etf.gram", "--out", str(out), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_resume_reruns_only_missing_records(tmp_path, monkeypatch, serial_report):
    out = tmp_path / "rep"
    assert main(["verify", *CLAIM_ARGS, "--seed", "3", "--out", str(out)]) == 0
    records = sorted((out / "records").glob("*.json"))
    assert [p.stem for p in records] == sorted(r["id"] for r in serial_report["claims"])
    (out / "records" / "svm.prop2_1.k_row_closed_form.json").unlink()
    (out / "report.json").unlink()

    ran = []
    real = E.run_claim
    monkeypatch.setattr(E, "run_claim", lambda c, **kw: ran.append(c.id) or real(c, **kw))
    assert main(["verify", *CLAIM_ARGS, "--seed", "3", "--resume", "--out", str(out)]) == 0
    assert ran == ["svm.prop2_1.k_row_closed_form"]
    assert _strip(_report(out)) == _strip(serial_report)


def test_resume_ignores_records_of_another_configuration(tmp_path, monkeypatch):
    out = tmp_path / "rep"
    assert main(["verify", "--claim", "svm.etf", "--seed", "1", "--out", str(out)]) == 0
    # damage one record: unreadable files are rerun, never trusted
    (out / "records" / "svm.etf.rank.json").write_text("{not json")
    ran = []
    real = E.run_claim
    monkeypatch.setattr(E, "run_claim", lambda c, **kw: ran.append(c.id) or real(c, **kw))
    assert main(["verify", "--claim", "svm.etf", "--seed", "1", "--resume", "--out", str(out)]) == 0
    assert ran == ["svm.etf.rank"]
    ran.clear()
    # another seed: nothing is reused, and the records are overwritten with the new tag
    assert main(["verify", "--claim", "svm.etf", "--seed", "2", "--resume", "--out", str(out)]) == 0
    assert len(ran) == 7
    tags = {json.loads(p.read_text())["tag"]["seed"] for p in (out / "records").glob("*.json")}
    assert tags == {2}
    rep = _report(out)
    assert rep["seed"] == 2 and all(r["seed"] == claim_seed(2, r["id"]) for r in rep["claims"])


def test_interrupted_run_keeps_whole_records_and_no_report(tmp_path, monkeypatch, capsys):
    out = tmp_path / "rep"
    real = E.run_claim
    count = {"n": 0}

    def flaky(c, **kw):
        count["n"] += 1
        if count["n"] == 3:
            raise KeyboardInterrupt
        return real(c, **kw)

    monkeypatch.setattr(E, "run_claim", flaky)
    assert main(["verify", "--claim", "svm.etf", "--out", str(out)]) == 130
    assert "--resume" in capsys.readouterr().err
    assert not (out / "report.json").exists()
    files = sorted(p.name for p in (out / "records").iterdir())
    assert len(files) == 2 and all(f.endswith(".json") for f in files)  # no temp files left
    for f in files:
        json.loads((out / "records" / f).read_text())  # whole, parseable
    monkeypatch.setattr(E, "run_claim", real)
    assert main(["verify", "--claim", "svm.etf", "--resume", "--out", str(out)]) == 0
    assert len(_report(out)["claims"]) == 7


def test_map_unordered_back_ends_agree(monkeypatch):
    items = [-3, 1, -2, 5]
    assert list(E.map_unordered(abs, items)) == [3, 1, 2, 5]  # serial keeps the order
    assert sorted(E.map_unordered(abs, items, jobs=2)) == [1, 2, 3, 5]
    with pytest.raises(E.InputError, match="positive"):
        list(E.map_unordered(abs, items, jobs=0))


def test_workers_run_with_one_thread():
    (info,) = list(E.map_unordered(E._probe_threads, [None, None], jobs=2))[:1]
    assert info["torch"] == 1
    assert all(n == 1 for n in info["blas"].values()), info


def test_work_config_round_trip():
    cfg = E.WorkConfig("svm.etf.gram", "quick", 7, "cpu")
    assert E.WorkConfig(**cfg.as_dict()) == cfg
    a, b = E.run_config(cfg), E.run_config(cfg.as_dict())
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    with pytest.raises(E.InputError, match="unknown claim id"):
        E.run_config(E.WorkConfig("svm.nosuch.claim"))


def test_serial_run_is_single_threaded_and_restores(monkeypatch):
    """The serial path uses the workers' one-thread numerics, then gives the threads back."""
    import torch
    from threadpoolctl import threadpool_info

    from lintheory import claims as C

    def check(ctx):
        blas = [i["num_threads"] for i in threadpool_info()]
        return C.Evidence(instances=1, max_error=0.0, tolerance=0.0,
                          details={"torch": torch.get_num_threads(), "blas": blas})

    fake = C.Claim(id="svm.executor_probe.threads", paper="-", source="-", statement="-",
                   form="derived", method="-", expected="holds", check=check)
    monkeypatch.setitem(C._REGISTRY, fake.id, fake)
    before = torch.get_num_threads()
    (rec,) = E.run_many([fake])
    assert rec["details"]["torch"] == 1 and set(rec["details"]["blas"]) == {1}
    assert torch.get_num_threads() == before


# ------------------------------------------------------- instance batches of one claim

def _sweep_probe(trace_dir, *, crash_at=None, die_on_worker=False):
    """A claim whose check sweeps 40 instances, leaving a file per evaluation (who ran it)."""
    import os
    import time
    from pathlib import Path

    import numpy as np

    from lintheory import claims as C

    coordinator = os.getpid()

    def check(ctx):
        def evaluate(cfg):
            (Path(trace_dir) / f"{os.getpid()}-{cfg['i']}").touch()
            time.sleep(0.01)
            if cfg["i"] == crash_at:
                raise ValueError(f"instance {cfg['i']} crashed")
            if die_on_worker and os.getpid() != coordinator:
                os._exit(3)
            if cfg["i"] % 7 == 3:
                raise C.Inconclusive("route not trusted here")
            return float(np.random.default_rng(cfg["seed"]).random() * cfg["i"] / 40)

        return sweep([{"i": i, "seed": 1000 + i} for i in range(40)], evaluate, 0.5)

    return C.Claim(id="svm.executor_probe.sweep", paper="-", source="-", statement="-",
                   form="derived", method="-", expected="fails", check=check)


def _ship_every_batch(monkeypatch):
    """Only workers take a sweep's batches (the coordinator would take some, depending on timing)."""
    monkeypatch.setattr(E, "SHIP_EVERY_INSTANCE", True)
    monkeypatch.setattr(E, "LOCAL_SWEEP_SECONDS", 0.0)


def _who_ran(trace_dir):
    names = [p.name.split("-") for p in trace_dir.iterdir()]
    for p in trace_dir.iterdir():
        p.unlink()
    return {int(pid) for pid, _ in names}, sorted(int(i) for _, i in names)


def test_sweep_instances_run_on_workers_with_the_serial_evidence(tmp_path, monkeypatch):
    import os

    from lintheory import claims as C

    probe = _sweep_probe(tmp_path)
    monkeypatch.setitem(C._REGISTRY, probe.id, probe)
    _ship_every_batch(monkeypatch)
    (serial,) = E.run_many([probe])
    pids, done = _who_ran(tmp_path)
    assert pids == {os.getpid()} and done == list(range(40))
    (parallel,) = E.run_many([probe], jobs=2)
    pids, done = _who_ran(tmp_path)
    # every instance once, all on the worker (the coordinator takes none here)
    assert len(pids) == 1 and os.getpid() not in pids and done == list(range(40)), (pids, done)
    serial.pop("seconds"), parallel.pop("seconds")
    assert parallel == serial
    assert serial["verdict"] == "fails" and serial["details"]["untrusted_instances"] == 6
    assert C.calls_sweep(probe.check)


def test_crashing_instance_on_a_worker_is_recorded_like_serial(tmp_path, monkeypatch):
    from lintheory import claims as C

    probe = _sweep_probe(tmp_path, crash_at=31)
    monkeypatch.setitem(C._REGISTRY, probe.id, probe)
    _ship_every_batch(monkeypatch)
    (serial,) = E.run_many([probe])
    (parallel,) = E.run_many([probe], jobs=2)
    for rec in (serial, parallel):
        assert rec["verdict"] == "inconclusive"
        assert rec["details"]["inconclusive_reason"] == "check crashed: ValueError: instance 31 crashed"


def test_lost_worker_stops_the_run(tmp_path, monkeypatch):
    from lintheory import claims as C
    from lintheory.errors import ExecutorError

    probe = _sweep_probe(tmp_path, die_on_worker=True)
    monkeypatch.setitem(C._REGISTRY, probe.id, probe)
    _ship_every_batch(monkeypatch)
    with pytest.raises(ExecutorError, match="worker was lost"):
        E.run_many([probe], jobs=2)


def test_a_cheap_sweep_stays_in_the_coordinating_process(tmp_path, monkeypatch):
    """A sweep whose instances cost less than a few round trips is not shipped at all."""
    import os

    from lintheory import claims as C

    probe = _sweep_probe(tmp_path)
    monkeypatch.setitem(C._REGISTRY, probe.id, probe)
    (serial,) = E.run_many([probe])
    _who_ran(tmp_path)
    _ship_every_batch(monkeypatch)  # a batch that is shipped runs on the worker ...
    monkeypatch.setattr(E, "LOCAL_SWEEP_SECONDS", 1e9)  # ... but every sweep counts as cheap
    (parallel,) = E.run_many([probe], jobs=2)
    pids, done = _who_ran(tmp_path)
    assert pids == {os.getpid()} and done == list(range(40)), (pids, done)
    serial.pop("seconds"), parallel.pop("seconds")
    assert parallel == serial


def test_dispatcher_order_for_workers_and_the_reserve_of_claims_that_sweep():
    from concurrent.futures import Future

    sent: list[str] = []
    futures: list[Future] = []

    def submit(fn, name):
        sent.append(name)
        futures.append(Future())
        return futures[-1]

    disp = E._Dispatcher(E._Backend(submit, 1, "fake"), reserve=2)
    disp.add("whole", ("claim", "w0"), None, "w0")  # takes the one slot
    for k in range(3):
        disp.add("sweep", ("claim", f"s{k}"), None, f"s{k}")
    for k in range(3):  # claims that use torch go to a worker whatever is left
        disp.add("torch_sweep", ("claim", f"ts{k}"), None, f"ts{k}")
    disp.add("whole", ("claim", "w1"), None, "w1")
    disp.add("batch", ("batch", 0, 0), None, "b0")
    disp.add("torch", ("claim", "t0"), None, "t0")
    assert sent == ["w0"]
    while True:
        before = len(futures)
        futures[-1].set_result(None)  # the slot frees: the dispatcher sends the next unit
        if len(futures) == before:
            break
    # torch first, then what cannot be split, a batch, and claims that sweep until two are left
    assert sent == ["w0", "t0", "ts0", "ts1", "ts2", "w1", "b0", "s0"]
    assert disp.take("whole", "sweep")[2] == ("s1",)
    assert disp.take("torch", "sweep")[2] == ("s2",)
    assert disp.take(*E._Dispatcher.KINDS) is None


WHOLE_SWEEP_SUITE = '''
import os, pathlib, time
from lintheory import claim, sweep

TRACE = pathlib.Path(os.environ["SWEEP_TRACE"])


def _claim_that_sweeps(k):
    @claim(id=f"wholesweep.c{k}", paper="wholesweep.txt", source="-", statement="k x / 100 <= 1",
           form="derived", method="numbers", expected="holds", error="absolute gap")
    def _(ctx):
        (TRACE / f"{os.getpid()}-{k}").touch()
        if os.environ.get("SWEEP_WAIT") and k == 0:
            # this claim waits until another process runs one of them: with every claim a
            # sweep, only a worker that takes a claim that sweeps whole can
            deadline = time.monotonic() + 60
            while len({p.name.split("-")[0] for p in TRACE.iterdir()}) < 2 \\
                    and time.monotonic() < deadline:
                time.sleep(0.01)
        return sweep([{"x": x, "k": k} for x in range(6)], lambda c: c["k"] * c["x"] / 100, 1.0,
                     hypotheses=())


for _k in range(6):
    _claim_that_sweeps(_k)
'''


def test_a_worker_takes_claims_that_sweep_whole_with_the_serial_records(tmp_path):
    """Claims that sweep are units too: the quick profile is mostly such claims, each small."""
    import os
    import subprocess
    import sys

    suite, trace = tmp_path / "wholesweep.py", tmp_path / "trace"
    suite.write_text(WHOLE_SWEEP_SUITE)
    trace.mkdir()
    reports = {}
    for jobs in ("1", "2"):
        env = dict(os.environ, SWEEP_TRACE=str(trace), **({"SWEEP_WAIT": "1"} if jobs == "2" else {}))
        out = tmp_path / f"rep{jobs}"
        res = subprocess.run([sys.executable, "-m", "lintheory.cli", "verify", "--suite", str(suite),
                              "--paper", "wholesweep", "--jobs", jobs, "--out", str(out)],
                             capture_output=True, text=True, env=env, timeout=180)
        assert res.returncode == 0, res.stderr[-2000:]
        ran = sorted(p.name.split("-") for p in trace.iterdir())
        for p in trace.iterdir():
            p.unlink()
        assert sorted(int(k) for _, k in ran) == list(range(6))  # every claim once
        assert len({pid for pid, _ in ran}) == int(jobs), ran
        reports[jobs] = _strip(_report(out))
    assert reports["1"] == reports["2"]


@pytest.mark.parametrize("claim_id, sweeps", [
    ("svm.prop2_1.direction", True),            # sweep called in the check
    ("svm.etf.gram", True),                     # ... in a check built by a factory
    ("proofs.svm.thmD1.is_maximum", False),     # a derivation
    ("coto.train.pruning_robustness.relu", False),
])
def test_calls_sweep_tells_sweep_claims_apart(claim_id, sweeps):
    from lintheory.claims import calls_sweep, registry

    assert calls_sweep(registry()[claim_id].check) is sweeps


def test_uses_torch_tells_torch_claims_apart_without_importing_torch():
    import subprocess
    import sys

    expected = {
        "adadare.thm1.torch_trained": True,             # `from . import train` in the check
        "coto.train.pruning_robustness.relu": True,     # ... in a module-level helper it calls
        "lora_margin.train.paper_sgd_protocol": True,   # ... in a function it closes over
        "svm.prop2_1.direction": True,
        "svm.etf.gram": False,
        "proofs.svm.thmD1.is_maximum": False,
        "adadare.thm1.waterfill.corrected": False,
    }
    code = ("import json, sys\nfrom lintheory.claims import registry, uses_torch\nreg = registry()\n"
            f"print(json.dumps([{{c: uses_torch(reg[c].check) for c in {sorted(expected)!r}}}, "
            "'torch' in sys.modules]))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout) == [expected, False]


def test_lost_worker_exits_2_and_keeps_finished_records(tmp_path, monkeypatch, capsys):
    from lintheory import claims as C

    probe = _sweep_probe(tmp_path / "trace", die_on_worker=True)
    (tmp_path / "trace").mkdir()
    monkeypatch.setitem(C._REGISTRY, probe.id, probe)
    _ship_every_batch(monkeypatch)
    out = tmp_path / "rep"
    # svm.etf.gram sorts first and does not ship anything: its record is finished before the loss
    assert main(["verify", "--claim", "svm.etf.gram", "--claim", probe.id, "--jobs", "2",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "worker was lost" in err and "--resume" in err
    assert not (out / "report.json").exists()
    assert (out / "records" / "svm.etf.gram.json").exists()

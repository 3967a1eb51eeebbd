"""The benchmarks' verdicts on issue 10's targets, from their own figures (no engines):
what holds a missed target is named from the measured stages, batches and processes."""

from __future__ import annotations

from bench import stages
from bench.common import cpu_verdict

MS = 1_000_000  # the trails' moments are nanoseconds


def row(p50: float, p95: float, p99: float, n: int = 100) -> dict[str, float | int]:
    return {"n": n, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99}


def stage_table(**overrides: dict[str, float | int]) -> dict[str, dict[str, float | int]]:
    figures = {name: row(5, 8, 10) for name, _, _ in stages.STAGES}
    figures.update(overrides)
    return figures


def test_a_met_latency_target_names_nothing_that_holds_it() -> None:
    verdict = stages.what_holds_it(stage_table(), [], p99=20.0, snapshot_every=5_000)
    assert verdict == {"target_p99_ms": 25.0, "p99_ms": 20.0, "met": True}
    assert stages.verdict_rows(verdict) == [("target: SSE p99 ≤ 25 ms", "met", "p99 20.0 ms")]


def test_a_missed_latency_target_names_the_slowest_stages_and_the_batches_over_their_p95() -> None:
    """The projection's wait has the largest p99 (a batch that wrote a snapshot held the
    events behind it), the group commit the largest p50; of the batches only those slower
    than the batches' own p95 are named, and the one that passed 10,000 says so."""
    figures = stage_table(**{
        "COALITION → taken by the projection": row(21, 61, 205),
        "request received → group commit done": row(26, 57, 78),
        "taken → board rows written": row(17, 35, 54),
    })
    batches = [stages.Batch(9_990, 10_009, 193.0), stages.Batch(12_000, 12_010, 30.0),
               stages.Batch(20_001, 20_004, 40.0)]
    verdict = stages.what_holds_it(figures, batches, p99=442.8, snapshot_every=5_000)
    assert not verdict["met"]
    assert verdict["largest_p99"] == {"stage": "COALITION → taken by the projection", "p99_ms": 205}
    assert verdict["largest_p50"] == {"stage": "request received → group commit done", "p50_ms": 26}
    assert verdict["slow_batches"] == [
        {"after": 9_990, "position": 10_009, "ms": 193.0, "crossed_snapshot": True},
        {"after": 20_001, "position": 20_004, "ms": 40.0, "crossed_snapshot": False},
    ]
    rows = stages.verdict_rows(verdict)
    assert rows[0] == ("target: SSE p99 ≤ 25 ms", "missed", "p99 442.8 ms")
    assert rows[1] == ("what holds it: the largest p99", "205.0 ms", "COALITION → taken by the projection")
    assert "9,991–10,009, passed a multiple of 5,000" in rows[3][2]


def test_each_batch_spans_from_the_batch_before_it_that_the_run_saw() -> None:
    def trail(position: int, batch: int, taken: int, written: int) -> stages.Trail:
        return stages.Trail(f"item{position}", {"position": position, "batch": batch,
                                                "taken": taken * MS, "written": written * MS})

    trails = [trail(4_998, 4_999, 10, 12), trail(4_999, 4_999, 10, 12), trail(5_003, 5_004, 20, 220),
              trail(5_006, 5_006, 230, 233)]
    spans = stages.batch_spans(trails)
    assert spans == [stages.Batch(4_999, 5_004, 200.0), stages.Batch(5_004, 5_006, 3.0),
                     stages.Batch(4_997, 4_999, 2.0)]
    assert spans[0].crosses(5_000) and not spans[1].crosses(5_000) and not spans[2].crosses(5_000)
    assert stages.slowest_batches(trails, top=1) == [(5_004, 200.0)]


def test_the_ingest_verdict_says_whether_the_cores_were_saturated_and_who_used_them() -> None:
    """10,000 commands in 10 s on 2 cores: the platform used 19 CPU-s (95 % of both
    cores), NATS the most; 1,900 µs a command allows at most 1,053 commands/s."""
    cpu = {"nats": 7.6, "postgres": 5.0, "momentum": 3.0, "client": 3.4}
    verdict = cpu_verdict(cpu, wall_s=10.0, commands=10_000, cores=2, machine_share=0.98,
                          rate=1_000.0, target_rate=3_000.0)
    assert not verdict["met"]
    assert verdict["cpu_us_per_command"] == {"nats": 760.0, "postgres": 500.0, "momentum": 300.0,
                                             "client": 340.0, "total": 1_900.0}
    assert verdict["platform_cores_busy"] == 0.95 and verdict["machine_cores_busy"] == 0.98
    assert verdict["saturated"] is True
    assert verdict["largest"] == {"group": "nats", "share": 0.4, "cpu_us_per_command": 760.0}
    assert verdict["ceiling_commands_per_second"] == 1_053
    assert "were saturated" in verdict["text"] and "other work 3%" in verdict["text"]
    assert "at most 1,053 commands/s" in verdict["text"] and "nats 40%" in verdict["text"]


def test_an_ingest_run_with_idle_cores_says_the_wait_is_elsewhere() -> None:
    verdict = cpu_verdict({"postgres": 2.0, "client": 1.0}, wall_s=10.0, commands=1_000, cores=2,
                          machine_share=0.2, rate=100.0, target_rate=3_000.0)
    assert verdict["saturated"] is False and verdict["platform_cores_busy"] == 0.15
    assert "not saturated" in verdict["text"]


def test_partners_name_delivery_when_the_stream_stored_every_event_in_time() -> None:
    from bench.partners import what_holds_it

    assert what_holds_it(900.0, 50.0, 3.0, 10.0, workers=2, cores=2) is None
    held = what_holds_it(4_025.0, 194.0, 14.1, 10.0, workers=2, cores=2)
    assert held is not None and "held by delivery (stored → received)" in held
    assert "publish → stored p99 194 ms, the rest 3,831 ms" in held and "1.41 of the 2 cores" in held
    assert "held by storing" in (what_holds_it(3_000.0, 2_500.0, 1.0, 10.0, workers=1, cores=2) or "")


def test_webhooks_name_the_deliverers_throughput_when_deliveries_fell_behind() -> None:
    from bench.webhooks import what_holds_it

    figures = {"p99_ms": 8_861.0, "sent_rate": 500.0, "endpoints": 20, "deliveries_per_second": 5_303,
               "cpu_share": {"webhooks": 0.93, "forum": 0.4},
               "feed_sse": {"p99_ms": 3_465.0, "readers": 4}}
    held = what_holds_it(figures)
    assert "the deliverer's throughput: 5,303 deliveries/s of the 10,000/s asked" in (held["webhooks"] or "")
    assert "0.93 CPU-s a second" in (held["webhooks"] or "")
    assert "the forum, which serves the feed, used 0.40 CPU-s a second" in (held["feed_sse"] or "")
    quick = {**figures, "p99_ms": 300.0, "feed_sse": {"p99_ms": 200.0, "readers": 4}}
    assert what_holds_it(quick) == {"webhooks": None, "feed_sse": None}


def test_the_ingest_benchmark_counts_each_process_in_its_group_and_not_its_own_children(tmp_path) -> None:
    """A platform's child named in ``pids.json`` works while the counter runs: its CPU is
    its group's. A process this benchmark started itself (as it starts the stock apps) is
    no part of the platform and is not counted, in the client's figure or any other."""
    import subprocess
    import sys
    from types import SimpleNamespace

    from bench.ingest import PlatformCpu

    work = "import sys; print('ready', flush=True); sys.stdin.readline(); sum(i * i for i in range(3_000_000)); " \
           "print('done', flush=True); sys.stdin.readline()"
    worker, stray, supervisor = (subprocess.Popen([sys.executable, "-c", work], stdin=subprocess.PIPE,
                                                  stdout=subprocess.PIPE, text=True) for _ in range(3))
    try:
        for proc in (worker, stray, supervisor):  # started up (an interpreter's start is CPU too) before counting
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        (tmp_path / "pids.json").write_text(f'{{"board": {worker.pid}}}')
        platform = SimpleNamespace(data_dir=tmp_path, proc=supervisor)
        with PlatformCpu(platform) as cpu:  # type: ignore[arg-type]
            for proc in (worker, stray):
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
            for proc in (worker, stray):
                assert proc.stdout is not None and proc.stdout.readline() == "done\n"
        used = cpu.seconds()
        assert used["board"] > 0.05 and used["supervisor"] == 0.0 and used.get("client", 0.0) >= 0.0
        assert set(used) <= {"board", "supervisor", "client"} and stray.pid not in cpu.first
        busy = cpu.machine_busy  # the whole machine's (busy, all) CPU seconds meanwhile
        assert cpu.wall > 0 and (busy is None or 0 <= busy[0] <= busy[1] + 0.01)
    finally:
        for proc in (worker, stray, supervisor):
            proc.kill()
            proc.wait()

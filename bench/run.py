"""Benchmark driver: every scenario of BENCHMARKS.md, Liveblog beside the reference servers.

    python -m bench.run --quick   # make bench: Liveblog against Node.js `ws`, one run per cell
    python -m bench.run           # make bench-full: the whole matrix, the peers, the chart

The scenarios live in bench/scenarios/, the servers under test in bench/servers/, what they
share (processes, readers, figures) in bench/harness.py. Results go to
bench/results/{quick,full}.json; `python -m bench.report` turns one into BENCHMARKS.md's tables,
and the full run also draws bench/results/p99-vs-readers.png.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import orjson

from bench.harness import (
    BURST,
    LIVEBLOG,
    LIVEBLOG_ASGI,
    NAIVE,
    NODE_WS,
    PYTHON_SOCKETIO,
    REFERENCE,
    RESULTS,
    SOCKET_IO,
    Kind,
    machine,
    median_of,
    node_missing,
)  # fmt: skip
from bench.scenarios import attack, box, fan_out, ingest, scale_out
from bench.scenarios.big_liveblog import BIG_SIZES, big_liveblog
from bench.scenarios.connect_storm import connect_storm
from bench.scenarios.end_to_end import end_to_end
from bench.scenarios.slow_readers import P5_STALLED, slow_readers

ONE_PROCESS_MOST = 15_000  # point 2: one Liveblog process, past the 10,000 of the matrix
NODE_MOST = 19_000  # the most one Node.js process holds under a 20,000 open-file limit
COST_ROUNDS = 3
# Cells measured once even in the full profile, to keep it under 45 minutes: each already
# compares inside itself (stalled or not, aimed or not, with readers or not) or is a median of
# many requests; the P1, P2, cost and floor comparisons get medians of 3.
ONCE = 1


@dataclass
class Plan:
    """Which cells a profile measures. Cells are the median of `repeats` runs unless listed in
    `single`; every cell records the settings its servers ran with."""

    sizes: list[int]
    repeats: int
    p2_readers: int
    p8_readers: int
    peers: list[Kind]
    full: bool
    results: dict[str, Any] = field(default_factory=dict)
    single: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def measure(
        self, label: str, scenario: Callable[[], dict[str, Any]], repeats: int | None = None
    ) -> dict[str, Any]:
        runs = repeats or self.repeats
        started = time.monotonic()
        try:
            cell = median_of([scenario() for _ in range(runs)])
        except Exception as error:  # one broken cell must not cost the rest of the run
            self.fail(label, error)
            return {}
        if runs == 1 and self.repeats > 1:
            self.single.append(label)
        self.results[label] = cell
        shown = "  ".join(
            f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
            for k, v in cell.items()
            if not isinstance(v, dict)
        )
        print(f"{label:<34} {shown}  ({time.monotonic() - started:.0f} s)", flush=True)
        return cell

    def fail(self, label: str, error: Exception) -> None:
        self.failed[label] = f"{type(error).__name__}: {error}"
        print(f"{label:<34} FAILED: {self.failed[label]}", flush=True)

    def skip(self, label: str, reason: str) -> None:
        self.skipped[label] = reason
        print(f"{label}: skipped, {reason}", flush=True)


def servers(plan: Plan) -> list[Kind]:
    own = [REFERENCE, NAIVE, LIVEBLOG, LIVEBLOG_ASGI] if plan.full else [REFERENCE, LIVEBLOG]
    return own + plan.peers


def run_all(plan: Plan) -> None:
    for readers in plan.sizes:
        # Side by side: every server at one size before the next size.
        for kind in servers(plan):
            label = f"P1 {kind.name} N={readers}"
            # (b) and direct-writes-off tell their story in one run, and so does python-socketio,
            # whose 10,000 readers take minutes to connect; the other peers get medians.
            repeats = 1 if kind in (NAIVE, LIVEBLOG_ASGI, PYTHON_SOCKETIO) else None
            plan.measure(label, partial(fan_out.fan_out, kind, readers), repeats)
    if plan.full:
        try:
            scale_out_by_cost(plan)
        except Exception as error:
            plan.fail("cost", error)
    # P2: no peer stores an entry before pushing it; they publish in-process at the same pace,
    # as (a) does, which is the most a durable path could hope to match.
    for kind in [REFERENCE, LIVEBLOG, *(peer for peer in plan.peers if peer.node)]:
        label = f"P2 {kind.name} N={plan.p2_readers}"
        plan.measure(label, partial(end_to_end, kind, plan.p2_readers))
    if plan.full:
        for kind in (REFERENCE, NAIVE, LIVEBLOG):
            for stalled in (0, P5_STALLED):
                label = f"P5 {kind.name} stalled={stalled}"
                plan.measure(label, partial(slow_readers, kind, stalled), ONCE)
    try:
        ingest_against_floor(plan)
    except Exception as error:
        plan.fail("P6 floor", error)
    if plan.full:
        plan.measure("P6 max rate readers=0 trust on", partial(ingest.ingest, 0, None, True), ONCE)
        for readers in (0, 1000):
            label = f"P6 {ingest.P6_PACED_RATE}/s readers={readers}"
            plan.measure(label, partial(ingest.ingest, readers, ingest.P6_PACED_RATE), ONCE)
        for kind in (REFERENCE, LIVEBLOG):
            label = f"P8 {kind.name} N={plan.p8_readers}"
            plan.measure(label, partial(connect_storm, kind, plan.p8_readers), ONCE)
        for entries in BIG_SIZES:
            plan.measure(f"big entries={entries}", partial(big_liveblog, entries), ONCE)
        for mode in attack.ATTACK_RATES:
            for aimed in (False, True):
                label = f"attack {mode} {'aimed' if aimed else 'control'}"
                plan.measure(label, partial(attack.under_attack, mode, aimed), ONCE)
        # Last: after 50,000 connections the kernel holds closing sockets for a while, and a
        # scenario right after it had its handshakes refused.
        readers_per_process_and_box(plan)


def readers_per_process_and_box(plan: Plan) -> None:
    """Point 2: 15,000 readers on one process, 50,000 on one box, Node.js `ws` at its most.
    Single runs: each takes minutes and most of the machine."""
    plan.measure(f"P1 liveblog N={ONE_PROCESS_MOST}",
                 partial(fan_out.fan_out, LIVEBLOG, ONE_PROCESS_MOST, 3), repeats=1)  # fmt: skip
    if NODE_WS in plan.peers:
        plan.measure(f"P1 node-ws N={NODE_MOST}",
                     partial(fan_out.fan_out, NODE_WS, NODE_MOST, 3), repeats=1)  # fmt: skip
    plan.measure(f"box N={box.BOX_READERS}", box.one_box, repeats=1)


def scale_out_by_cost(plan: Plan) -> None:
    """Point 3: one process against two + Redis, interleaved round by round, then the hop."""
    rounds: dict[str, list[dict[str, Any]]] = {"one": [], "two": []}
    started = time.monotonic()
    for _ in range(COST_ROUNDS):
        rounds["one"].append(scale_out.cost_one_process())
        rounds["two"].append(scale_out.cost_two_processes())
    for name, runs in rounds.items():
        plan.results[f"cost {name}"] = median_of(runs)
    one, two = plan.results["cost one"], plan.results["cost two"]
    print(f"cost per million deliveries: one {one['cpu_s_per_million']:.2f} s, two + Redis "
          f"{two['cpu_s_per_million']:.2f} s ({time.monotonic() - started:.0f} s)")  # fmt: skip
    plan.measure("redis hop", scale_out.redis_hop, repeats=1)
    memory = plan.results[f"P1 liveblog N={max(plan.sizes)}"]["rss_per_reader_kib"]
    plan.results["capacity"] = scale_out.capacity(
        one["cpu_s_per_million"], two["cpu_s_per_million"], memory
    )


def ingest_against_floor(plan: Plan) -> None:
    """Point 4: flat out against the floor, interleaved (one round in the quick profile)."""
    started = time.monotonic()
    result = ingest.compare(plan.repeats)
    plan.results["P6 max rate readers=0"] = result["medians"][LIVEBLOG.name]
    plan.results["P6 floor"] = result["medians"]["ingest-floor"]
    print(f"P6 against the floor: {result['cpu_ratio']:.2f}x CPU per POST "
          f"({time.monotonic() - started:.0f} s)", flush=True)  # fmt: skip


@dataclass
class Verdict:
    target: str
    measured: str
    met: bool


def verdicts(plan: Plan) -> list[Verdict]:
    """Each target of BENCHMARKS.md that this profile measured; a failed cell leaves its
    group of targets "not measured"."""
    checks: list[Verdict] = []
    for group in (core_verdicts, full_verdicts) if plan.full else (core_verdicts,):
        try:
            checks += group(plan)
        except KeyError as missing:
            checks.append(Verdict(f"the targets of {group.__name__}",
                                  f"not measured: no cell {missing}", False))  # fmt: skip
    return checks


def core_verdicts(plan: Plan) -> list[Verdict]:
    r, n = plan.results, max(plan.sizes)
    ref, live = r[f"P1 websockets N={n}"], r[f"P1 liveblog N={n}"]
    e2e, ref_e2e = r[f"P2 liveblog N={plan.p2_readers}"], r[f"P2 websockets N={plan.p2_readers}"]
    p1 = live["p99_ms"] / ref["p99_ms"]
    rate = live["deliveries_per_s"] / ref["deliveries_per_s"]
    p2 = e2e["p99_ms"] / ref_e2e["p99_ms"]
    p4 = live["rss_per_reader_kib"] / ref["rss_per_reader_kib"]
    floor = (
        r["P6 max rate readers=0"]["server_cpu_ms_per_post"]
        / r["P6 floor"]["server_cpu_ms_per_post"]
    )
    checks = [
        Verdict(f"P1 p99 <= 1.3x (a) at N={n}", f"{live['p99_ms']:.0f} ms = {p1:.2f}x",
                p1 <= 1.3 and live["complete"]),
        Verdict(f"P1 deliveries/s >= 0.8x (a) at N={n}",
                f"{live['deliveries_per_s']:.0f}/s = {rate:.2f}x", rate >= 0.8),
        Verdict(f"P2 end-to-end p99 <= 1.5x (a) at N={plan.p2_readers}",
                f"{e2e['p99_ms']:.0f} ms = {p2:.2f}x", p2 <= 1.5 and e2e["complete"]),
        Verdict(f"P4 memory per idle reader <= 2.5x (a) at N={n}",
                f"{live['rss_per_reader_kib']:.1f} KiB = {p4:.2f}x", p4 <= 2.5),
        Verdict("P6 server CPU per POST <= 2x the floor's",
                f"{r['P6 max rate readers=0']['server_cpu_ms_per_post']:.2f} ms = {floor:.2f}x",
                floor <= ingest.TARGET),
    ]  # fmt: skip
    return checks


def full_verdicts(plan: Plan) -> list[Verdict]:
    r = plan.results
    healthy, slow = r["P5 liveblog stalled=0"], r[f"P5 liveblog stalled={P5_STALLED}"]
    idle = r[f"P6 {ingest.P6_PACED_RATE}/s readers=0"]
    busy = r[f"P6 {ingest.P6_PACED_RATE}/s readers=1000"]
    storm_ref = r[f"P8 websockets N={plan.p8_readers}"]
    storm = r[f"P8 liveblog N={plan.p8_readers}"]
    small, big = r[f"big entries={BIG_SIZES[0]}"], r[f"big entries={BIG_SIZES[1]}"]
    ten, most = r["P1 liveblog N=10000"], r[f"P1 liveblog N={ONE_PROCESS_MOST}"]
    whole = r[f"box N={box.BOX_READERS}"]
    one, two, hop = r["cost one"], r["cost two"], r["redis hop"]

    p5 = slow["p99_ms"] / healthy["p99_ms"]
    p6 = busy["post_p99_ms"] / idle["post_p99_ms"]
    p8 = storm["seconds"] / storm_ref["seconds"]
    worst = max(big[k] / small[k] for k in small)
    dropped = slow["stalled_dropped"]
    growth = most["p99_ms"] / ten["p99_ms"]
    linear = ONE_PROCESS_MOST / 10_000
    cost = two["cpu_s_per_million"] / one["cpu_s_per_million"]
    return [
        Verdict("P5 healthy p99 <= 1.2x all-healthy, stalled readers dropped",
                f"{p5:.2f}x, dropped {dropped:.0f}/{P5_STALLED}",
                p5 <= 1.2 and dropped == P5_STALLED and slow["complete"]),
        Verdict(f"P6 POST p99 at {ingest.P6_PACED_RATE}/s with 1k readers <= 2x without",
                f"{busy['post_p99_ms']:.1f} ms vs {idle['post_p99_ms']:.1f} ms = {p6:.2f}x",
                p6 <= 2),
        Verdict(f"P8 {plan.p8_readers} readers caught up <= 2.5x (a) connect time",
                f"{storm['seconds']:.1f} s = {p8:.2f}x", p8 <= 2.5 and storm["complete"]),
        Verdict(f"{BIG_SIZES[1]:,} entries cost within 1.5x of {BIG_SIZES[0]:,}",
                f"worst {worst:.2f}x", worst <= 1.5),
        Verdict(f"{ONE_PROCESS_MOST:,} readers on one process: p99 no worse than linear from "
                f"10,000 (<= {linear:.1f}x), memory per reader no worse",
                f"p99 {most['p99_ms']:.0f} ms = {growth:.2f}x; "
                f"{most['rss_per_reader_kib']:.1f} vs {ten['rss_per_reader_kib']:.1f} KiB",
                growth <= linear and most["complete"]
                and most["rss_per_reader_kib"] <= ten["rss_per_reader_kib"] * 1.05),
        Verdict(f"{box.BOX_READERS:,} readers on one box, every event to all",
                f"p99 {whole['p99_ms']:.0f} ms, {whole['deliveries']:,.0f} deliveries",
                whole["complete"]),
        Verdict("two processes + Redis <= 1.15x one process, CPU per delivery",
                f"{two['cpu_s_per_million']:.2f} vs {one['cpu_s_per_million']:.2f} s per "
                f"million = {cost:.2f}x", cost <= 1.15 and one["complete"] and two["complete"]),
        Verdict("Redis hop at low load adds <= 5 ms at p50",
                f"+{hop['added_p50_ms']:.1f} ms p50, +{hop['added_p99_ms']:.1f} ms p99",
                hop["added_p50_ms"] <= 5 and hop["complete"]),
        *(attack_verdict(r, mode) for mode in attack.ATTACK_RATES),
    ]  # fmt: skip


def attack_verdict(results: dict[str, Any], mode: str) -> Verdict:
    aimed, control = results[f"attack {mode} aimed"], results[f"attack {mode} control"]
    ratio = aimed["p99_ms"] / control["p99_ms"]
    bound = attack.ATTACK_P99_BOUND.get(mode, 1.5)
    return Verdict(
        f"{mode} at {attack.ATTACK_RATES[mode]:.0f}/s: healthy readers' p99 <= {bound}x the "
        "control, /healthz < 1 s",
        f"{aimed['p99_ms']:.0f} ms vs {control['p99_ms']:.0f} ms = {ratio:.2f}x; /healthz max "
        f"{aimed['healthz_max_ms']:.0f} ms; RSS +{aimed['rss_growth_mib']:.0f} MiB; server CPU "
        f"{aimed['server_cpu_s']:.1f} s vs {control['server_cpu_s']:.1f} s, attacker "
        f"{aimed['attacker_cpu_s']:.1f} s",
        attack.met(mode, aimed, control),
    )


def chart(plan: Plan, path: str) -> None:
    """p99 against readers for every server of P1, one process each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for kind in servers(plan):
        points = sorted(
            (int(label.rsplit("=", 1)[1]), cell["p99_ms"])
            for label, cell in plan.results.items()
            if label.startswith(f"P1 {kind.name} N=")
        )
        width = 2.5 if kind is LIVEBLOG else 1.5
        axes.plot(*zip(*points, strict=True), marker="o", linewidth=width,
                  label=kind.label.replace("`", "").replace("*", ""))  # fmt: skip
    axes.set_xlabel("readers on one liveblog (one server process)")
    axes.set_ylabel("p99 publish → reader (ms)")
    axes.set_yscale("log")
    axes.set_title(f"Fan-out of a {BURST}-message burst, 1 KiB each")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="Liveblog against Node.js `ws`")
    args = parser.parse_args()
    reason = node_missing()
    if args.quick:
        peers = [] if reason else [NODE_WS]
        plan = Plan(sizes=[1000, 5000], repeats=1, p2_readers=5000, p8_readers=5000,
                    peers=peers, full=False)  # fmt: skip
    else:
        peers = [PYTHON_SOCKETIO] if reason else [NODE_WS, SOCKET_IO, PYTHON_SOCKETIO]
        plan = Plan(sizes=[1000, 5000, 10000], repeats=3, p2_readers=10000, p8_readers=10000,
                    peers=peers, full=True)  # fmt: skip
    if reason:
        plan.skip("Node.js peers", reason)
    started = time.monotonic()
    run_all(plan)
    elapsed = time.monotonic() - started
    print(f"\nTargets ({'quick' if args.quick else 'full'} profile, {elapsed:.0f} s):")
    checks = verdicts(plan)
    for check in checks:
        print(f"  [{'met' if check.met else 'MISSED'}] {check.target}: {check.measured}")
    RESULTS.mkdir(exist_ok=True)
    name = "quick" if args.quick else "full"
    document = {
        "machine": machine(), "repeats": plan.repeats, "single_runs": plan.single,
        "skipped": plan.skipped, "failed": plan.failed, "seconds": round(elapsed),
        "results": plan.results,
        "targets": [asdict(check) for check in checks],
    }  # fmt: skip
    (RESULTS / f"{name}.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    if not args.quick:
        chart(plan, str(RESULTS / "p99-vs-readers.png"))


if __name__ == "__main__":
    main()

"""Benchmark RedFlow against its targets and against grouping with plain nested dicts.

Run as ``python bench/redflow.py``. It builds 100,000 sources over a 3-level
graph (stream -> strategy settings -> delivery channel), times adding all of
them and removing all of them, measures the memory the graph holds per source
per level with tracemalloc, and times exec over 10,000 clusters. Each timing
is the best of a few runs; a table of measured values, targets and pass/fail
closes the output.
"""

from __future__ import annotations

import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tradeflood.redflow import Cluster, ClusterCreator, RedFlow, Source, signature

SOURCES = 100_000
LEVELS = 3
EXEC_CLUSTERS = 10_000
REPEATS = 3

EXCHANGES = ["binance", "bitget", "okx", "bybit"]
SYMBOLS = [f"{base}/USDT" for base in ("BTC", "ETH", "SOL", "XRP", "ADA")]
INTERVALS = ["1m", "5m", "15m", "1h", "4h"]
CHANNELS = ["ws", "webhook", "queue"]


def make_data(count: int, seed: int = 7) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    settings = [{"fast": fast, "slow": fast * 4, "kind": "ema"} for fast in range(5, 15)]
    return [
        (
            f"user-{index}",
            {
                "exchange": rng.choice(EXCHANGES),
                "symbol": rng.choice(SYMBOLS),
                "interval": rng.choice(INTERVALS),
                "settings": dict(reversed(rng.choice(settings).items()))
                if index % 2
                else rng.choice(settings),
                "channel": rng.choice(CHANNELS),
            },
        )
        for index in range(count)
    ]


def by_stream(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    data = source.data
    creator.get_or_create((data["exchange"], data["symbol"], data["interval"]))


def by_settings(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    creator.get_or_create(signature(source.data["settings"]))


def by_channel(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    creator.get_or_create(source.data["channel"])


def by_settings_key(source: Source, creator: ClusterCreator, parent: Cluster | None) -> None:
    creator.get_or_create(source.data["settings_key"])


def make_graph(settings_mapper: Callable[..., None] = by_settings) -> RedFlow:
    return RedFlow.graph(
        [
            RedFlow(by_stream, name="stream"),
            [[RedFlow(settings_mapper, name="strategy"), [RedFlow(by_channel, name="channel")]]],
        ]
    )


def best(run: Callable[[], Callable[[], object]]) -> float:
    """Best wall time of `REPEATS` runs; `run()` prepares and returns the timed call."""
    times = []
    for _ in range(REPEATS):
        timed = run()
        gc.collect()
        start = time.perf_counter()
        timed()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_redflow(
    data: list[tuple[str, dict[str, Any]]], settings_mapper: Callable[..., None] = by_settings
) -> tuple[float, float]:
    state: dict[str, Any] = {}

    def prepare_add() -> Callable[[], object]:
        state["flow"] = make_graph(settings_mapper)
        state["sources"] = [Source(source_id, payload) for source_id, payload in data]
        return lambda: state["flow"].add_sources(state["sources"])

    add = best(prepare_add)

    def prepare_remove() -> Callable[[], object]:
        flow = make_graph(settings_mapper)
        flow.add_sources([Source(source_id, payload) for source_id, payload in data])
        ids = [source_id for source_id, _ in data]
        return lambda: flow.remove_sources(ids)

    remove = best(prepare_remove)
    return add, remove


def bench_dicts(data: list[tuple[str, dict[str, Any]]], precomputed: bool = False) -> tuple[float, float]:
    """The same grouping by hand: nested dicts, keys kept per source to remove them."""
    state: dict[str, Any] = {}

    def group(sources: list[Source]) -> None:
        tree: dict[Any, Any] = {}
        paths: dict[Any, tuple[Any, Any, Any]] = {}
        for source in sources:
            payload = source.data
            stream = (payload["exchange"], payload["symbol"], payload["interval"])
            settings = payload["settings_key"] if precomputed else signature(payload["settings"])
            channel = payload["channel"]
            tree.setdefault(stream, {}).setdefault(settings, {}).setdefault(channel, {})[source.id] = source
            paths[source.id] = (stream, settings, channel)
        state["tree"], state["paths"] = tree, paths

    def ungroup(ids: list[str]) -> None:
        tree, paths = state["tree"], state["paths"]
        for source_id in ids:
            stream, settings, channel = paths.pop(source_id)
            level2 = tree[stream]
            level3 = level2[settings]
            leaf = level3[channel]
            del leaf[source_id]
            if not leaf:
                del level3[channel]
                if not level3:
                    del level2[settings]
                    if not level2:
                        del tree[stream]

    def prepare_add() -> Callable[[], object]:
        sources = [Source(source_id, payload) for source_id, payload in data]
        return lambda: group(sources)

    add = best(prepare_add)

    def prepare_remove() -> Callable[[], object]:
        group([Source(source_id, payload) for source_id, payload in data])
        ids = [source_id for source_id, _ in data]
        return lambda: ungroup(ids)

    remove = best(prepare_remove)
    return add, remove


def bench_memory(data: list[tuple[str, dict[str, Any]]]) -> float:
    """Bytes the graph allocates per source per level (Source objects and data excluded)."""
    sources = [Source(source_id, payload) for source_id, payload in data]
    flow = make_graph()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    flow.add_sources(sources)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / (len(sources) * LEVELS)


def bench_exec() -> tuple[float, float, float]:
    """Per-cluster time of exec, of a plain loop calling the same function, and of a nested exec."""
    flow = RedFlow(lambda s, c, p: c.get_or_create(s.id), name="stream")
    flow.add_sources([Source(index) for index in range(EXEC_CLUSTERS)])
    clusters = list(flow.clusters)

    def noop(x: object) -> None:
        return None

    def plain_loop() -> None:
        for cluster in clusters:
            noop(cluster)

    exec_time = best(lambda: lambda: flow.exec(noop)) / EXEC_CLUSTERS
    loop_time = best(lambda: plain_loop) / EXEC_CLUSTERS

    nested = RedFlow(lambda s, c, p: c.get_or_create(s.data % 100), name="stream")
    nested.link_child("user", RedFlow(lambda s, c, p: c.get_or_create(s.id)))
    nested.add_sources([Source(index, index) for index in range(EXEC_CLUSTERS)])

    def per_stream(x: Any) -> object:
        return x.executors.user.exec(noop)

    nested_time = best(lambda: lambda: nested.exec(per_stream)) / (EXEC_CLUSTERS + 100)
    return exec_time, loop_time, nested_time


def main() -> None:
    started = time.perf_counter()
    data = make_data(SOURCES)
    probe = make_graph()
    probe.add_sources([Source(source_id, payload) for source_id, payload in data])
    sizes = [len(probe.clusters)]
    for name in ("strategy", "channel"):
        probe = probe.children[name]
        sizes.append(len(probe.clusters))
    print(f"RedFlow benchmark: {SOURCES:,} sources, 3 levels, clusters per level {sizes}")
    print(f"python {sys.version.split()[0]}, best of {REPEATS} runs\n")

    add, remove = bench_redflow(data)
    dict_add, dict_remove = bench_dicts(data)
    for _, payload in data:
        payload["settings_key"] = signature(payload["settings"])
    key_add, key_remove = bench_redflow(data, by_settings_key)
    key_dict_add, key_dict_remove = bench_dicts(data, precomputed=True)
    memory = bench_memory(data)
    exec_time, loop_time, nested_time = bench_exec()

    rows = [
        ("add 100k sources (s)", add, 1.5, f"{add / dict_add:.2f}x dicts ({dict_add:.3f} s)"),
        (
            "remove 100k sources (s)",
            remove,
            1.5,
            f"{remove / dict_remove:.2f}x dicts ({dict_remove:.3f} s)",
        ),
        (
            "add 100k, settings keys precomputed (s)",
            key_add,
            1.5,
            f"{key_add / key_dict_add:.2f}x dicts ({key_dict_add:.3f} s)",
        ),
        (
            "remove 100k, keys precomputed (s)",
            key_remove,
            1.5,
            f"{key_remove / key_dict_remove:.2f}x dicts ({key_dict_remove:.3f} s)",
        ),
        ("memory per source per level (B)", memory, 1024.0, "tracemalloc, graph only"),
        (
            "exec per cluster, 10k clusters (us)",
            exec_time * 1e6,
            5.0,
            f"plain loop {loop_time * 1e6:.2f} us",
        ),
        (
            "exec overhead over plain loop (us)",
            (exec_time - loop_time) * 1e6,
            5.0,
            "exec minus calling fn in a for loop",
        ),
        ("nested exec per cluster (us)", nested_time * 1e6, 5.0, "100 parents x 100 children"),
    ]
    print(f"{'measure':<40}{'value':>10}{'target':>9}  {'result':<6}  note")
    print("-" * 100)
    failed = 0
    for label, value, target, note in rows:
        ok = value < target
        failed += not ok
        limit = "< " + format(target, "g")
        verdict = "PASS" if ok else "FAIL"
        print(f"{label:<40}{value:>10.3f}{limit:>9}  {verdict:<6}  {note}")
    print(f"\n{len(rows) - failed}/{len(rows)} targets met in {time.perf_counter() - started:.1f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

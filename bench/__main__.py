"""`python -m bench NAME`: run one benchmark, print its JSON result, keep it in bench/results/NAME.json."""

from __future__ import annotations

import argparse
import json
import sys

from bench import BENCHMARKS, RESULTS, BenchmarkFailed, UnknownBenchmark, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run one benchmark; prints one JSON object and writes bench/results/NAME.json.",
    )
    parser.add_argument("name", help="benchmark to run: " + ", ".join(sorted(BENCHMARKS)))
    args = parser.parse_args(argv)
    try:
        result = run(args.name)
    except UnknownBenchmark:
        print(
            f"error: no benchmark named {args.name!r}; choose one of: {', '.join(sorted(BENCHMARKS))}",
            file=sys.stderr,
        )
        return 2
    except BenchmarkFailed as exc:
        print(f"error: benchmark {args.name} failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    print(f"[bench] saved {RESULTS / (args.name + '.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

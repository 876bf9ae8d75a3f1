"""`python -m bench NAME`: run one benchmark, print its JSON result, keep it in bench/results/NAME.json."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from bench import BENCHMARKS, BenchmarkFailed, UnknownBenchmark, result_path, run

# Benchmarks that take --database and --database-url.
DATABASE_BENCHMARKS = {"pages", "lookup", "dataset", "coverage", "dosing", "scheduler"}
# Benchmarks that take --size: dataset one size, coverage the sizes it compares (comma-separated).
SIZE_BENCHMARKS = {"dataset": "size", "coverage": "sizes"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run one benchmark; prints one JSON object and writes bench/results/NAME.json.",
    )
    parser.add_argument("name", help="benchmark to run: " + ", ".join(sorted(BENCHMARKS)))
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default=None,
        help="pages, lookup, dosing and scheduler: sqlite (default; bench/results/pages.json) or "
        "postgresql (a throwaway server started and deleted by the benchmark unless --database-url is "
        "given; pages-postgresql.json)",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        default=None,
        help="pages, lookup, dosing and scheduler: use this PostgreSQL server "
        "(postgresql+psycopg://user:pass@host:port/db; the role needs CREATEDB: a scratch database is made "
        "and dropped) instead of starting one",
    )
    parser.add_argument(
        "--size",
        default=None,
        help="dataset: S, M, L or XL staff (500 to 500,000; default M); coverage: the sizes to compare, "
        "comma-separated (default M,XL)",
    )
    args = parser.parse_args(argv)
    options: dict = {}
    if args.size:
        if args.name not in SIZE_BENCHMARKS:
            print(f"error: --size applies to: {', '.join(SIZE_BENCHMARKS)}", file=sys.stderr)
            return 2
        sizes = tuple(s.strip().upper() for s in args.size.split(",") if s.strip())
        options[SIZE_BENCHMARKS[args.name]] = sizes[0] if args.name == "dataset" else sizes
    if args.database or args.database_url:
        if args.name not in DATABASE_BENCHMARKS:
            print(
                f"error: --database and --database-url apply to: {', '.join(DATABASE_BENCHMARKS)}",
                file=sys.stderr,
            )
            return 2
        if args.database == "sqlite" and args.database_url:
            print(
                "error: --database-url names a PostgreSQL server; it cannot go with --database sqlite",
                file=sys.stderr,
            )
            return 2
        options |= {"database": args.database or "postgresql", "database_url": args.database_url}
    # A plain `kill` should stop gunicorn and a throwaway PostgreSQL too: make it unwind like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        result = run(args.name, **options)
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
    print(f"[bench] saved {result_path(args.name, **options)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

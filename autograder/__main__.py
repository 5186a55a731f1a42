"""Command line: ``python -m autograder <command>``."""

from __future__ import annotations

import argparse
import sys

from . import release as rel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_rel = sub.add_parser("release", help="solutions/ -> exercises/ through nbgrader")
    p_rel.add_argument("assignments", nargs="*", help="default: every assignment")
    p_rel.add_argument("--check", action="store_true",
                       help="only check that exercises/ matches a fresh release")
    args = parser.parse_args(argv)

    if args.command == "release":
        names = args.assignments or rel.assignments()
        unknown = sorted(set(names) - set(rel.assignments()))
        if unknown:
            parser.error(f"unknown assignment(s) {unknown}; known: {rel.assignments()}")
        try:
            if args.check:
                problems = rel.check(names)
                for p in problems:
                    print(f"out of sync: {p}", file=sys.stderr)
                if not problems:
                    print(f"in sync: {', '.join(names)}")
                return 1 if problems else 0
            changed = rel.release(names)
        except rel.ReleaseError as exc:
            print(f"release failed: {exc}", file=sys.stderr)
            return 1
        for path in changed:
            print(f"rewrote {path.relative_to(rel.ROOT)}")
        print(f"released: {', '.join(names)} -> exercises/")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())

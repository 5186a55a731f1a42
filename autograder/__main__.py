"""Command line: ``python -m autograder <command>``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import release as rel
from .mutants import DEFAULT_MAX_PER_CELL

REQUIREMENTS_TABLE = "autograder/REQUIREMENTS.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_rel = sub.add_parser("release", help="solutions/ -> exercises/ through nbgrader")
    p_rel.add_argument("assignments", nargs="*", help="default: every assignment")
    p_rel.add_argument("--check", action="store_true",
                       help="only check that exercises/ matches a fresh release")
    course = argparse.ArgumentParser(add_help=False)
    course.add_argument("--course", type=Path, default=rel.ROOT,
                        help="course folder: gradebook.db, feedback/, reports/ (default: repo)")
    course.add_argument("--db", help="gradebook URL (default sqlite:///COURSE/gradebook.db; "
                        "postgresql://... for several graders)")
    p_gr = sub.add_parser("grade", parents=[course], help="grade a folder/.zip of submissions")
    p_gr.add_argument("assignment")
    p_gr.add_argument("submissions", type=Path,
                      help="<student>/<A>.ipynb folders, nbgrader submitted/ layout, or a .zip")
    p_gr.add_argument("--workers", type=int, help="local parallel workers (default: all cores)")
    p_gr.add_argument("--scheduler", help="Dask distributed scheduler address (tcp://host:port)")
    p_gr.add_argument("--timeout", type=float, dest="wall",
                      help="wall-clock seconds per notebook (default 120)")
    p_gr.add_argument("--cell-timeout", type=float, dest="chunk_timeout",
                      help="seconds per cell (default 30)")
    p_gr.add_argument("--probe-timeout", type=float, help="seconds per judge probe (default 20)")
    p_gr.add_argument("--memory", type=int,
                      help="bytes of memory per notebook (used; address space w/o cgroups)")
    p_gr.add_argument("--no-sandbox", action="store_true",
                      help="run without bubblewrap (resource limits only; NOT safe)")
    p_gr.add_argument("--no-fork-server", action="store_true",
                      help="start every runner cold (no warm zygote per worker; slower)")
    p_gr.add_argument("--wall-clock-timeouts", action="store_true",
                      help="count time limits on the wall clock, waiting for a CPU included "
                           "(default: on each runner's own clock, as if the machine were idle)")
    p_fb = sub.add_parser("feedback", parents=[course], help="per-student HTML feedback")
    p_fb.add_argument("assignment")
    p_ex = sub.add_parser("export", parents=[course],
                          help="scores as CSV, or Canvas / Moodle grade import files")
    p_ex.add_argument("--out", "-o", "--csv", type=Path, dest="out", required=True,
                      help="file to write (reasons go to the .log next to it)")
    p_ex.add_argument("--format", choices=("csv", "canvas", "moodle"), default="csv")
    p_ex.add_argument("--assignment")
    p_ex.add_argument("--students", type=Path,
                      help="CSV mapping course_id to the LMS's ids (canvas, moodle)")
    p_ex.add_argument("--canvas-id", action="append", default=[], metavar="A=ID",
                      help="Canvas assignment id of assignment A (repeatable)")
    p_ex.add_argument("--moodle-match", choices=("email", "idnumber"), default="email",
                      help="the Moodle user field students are matched by (default email)")
    p_ex.add_argument("--late-penalty", help="e.g. 10%%/day, 2%%/hour, zero, none (default)")
    p_ex.add_argument("--late-cap", help="largest late deduction, e.g. 50%% (default 100%%)")
    p_ex.add_argument("--late-grace", help="lateness that costs nothing, e.g. 15min")
    p_ex.add_argument("--submitted", type=Path,
                      help="nbgrader submitted/ folder whose timestamp.txt files give the "
                      "submission times (default: the times in the gradebook)")
    p_rp = sub.add_parser("report", parents=[course], help="histogram, pass rates, flagged")
    p_rp.add_argument("assignment")
    p_ck = sub.add_parser("check-db", parents=[course], help="gradebook integrity check")
    del p_ck
    p_rq = sub.add_parser("requirements",
                          help="each rule a task text states and the hidden checks that cover it")
    p_rq.add_argument("assignments", nargs="*", help="default: every assignment")
    p_rq.add_argument("--write", action="store_true",
                      help=f"also write the tables to {REQUIREMENTS_TABLE} (checked in sync)")
    p_sim = sub.add_parser("similarity", help="rank pairs of submissions by shared answer code")
    p_sim.add_argument("assignment")
    p_sim.add_argument("submissions", type=Path, help="the folder or .zip given to grade")
    p_sim.add_argument("--out", type=Path, help="HTML report (default "
                       "reports/ASSIGNMENT/similarity.html)")
    p_sim.add_argument("--threshold", type=float, default=0.5,
                       help="score (0..1) from which a pair is flagged (default 0.5)")
    p_chk = sub.add_parser("check", help="students: run a notebook's visible tests as the "
                           "grader would, and list what the grader would flag")
    p_chk.add_argument("notebook", type=Path)
    p_chk.add_argument("--assignment", help="default: found from the notebook's file name")
    p_mut = sub.add_parser("mutants", help="mutation analysis: grade mutants of the solution's "
                           "answer cells and list the ones the hidden checks miss")
    p_mut.add_argument("assignment")
    p_mut.add_argument("--out", type=Path, help="folder for mutants.txt/.html/.json "
                       "(default reports/ASSIGNMENT)")
    p_mut.add_argument("--workers", type=int, help="parallel sandboxes (default: all cores)")
    p_mut.add_argument("--max-per-cell", type=int, default=DEFAULT_MAX_PER_CELL,
                       help="mutants graded per answer cell, operators taken in turn "
                       f"(default {DEFAULT_MAX_PER_CELL}; 0: all)")
    p_mut.add_argument("--only", nargs="+", metavar="ID", help="grade just these mutant ids")
    p_rf = sub.add_parser("references", help="compute the solution's answers to the hidden "
                          "checks once (before a stock `nbgrader autograde`)")
    p_rf.add_argument("assignments", nargs="*", help="default: every assignment")
    args = parser.parse_args(argv)
    if args.command == "mutants":
        from .mutants import cli as mutants_cli

        return mutants_cli(args)
    if args.command == "references":
        from .checks import warm_references

        for name in args.assignments or rel.assignments():
            print(f"{name}: {warm_references(name)} reference answers cached")
        return 0
    if args.command == "similarity":
        from .similarity import cli as similarity_cli

        return similarity_cli(args)
    if args.command == "check":
        from .selfcheck import cli as check_cli

        return check_cli(args)
    if args.command == "requirements":
        from .requirements import all_tables, coverage

        names = args.assignments or rel.assignments()
        text = all_tables(names)
        print(text)
        if args.write:
            (rel.ROOT / REQUIREMENTS_TABLE).write_text(text)
        bad = sum(len(coverage(name)[1]) for name in names)
        return 1 if bad else 0
    if args.command != "release":
        return _instructor(args)

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


def _instructor(args) -> int:
    from .record import db_url

    url = db_url(args.course, args.db)
    if args.command == "grade":
        from .grade import grade

        if args.assignment not in rel.assignments():
            print(f"unknown assignment {args.assignment!r}; known: {rel.assignments()}",
                  file=sys.stderr)
            return 2
        grade(args.assignment, args.submissions, args.course, args.db, workers=args.workers,
              scheduler=args.scheduler, wall=args.wall, chunk_timeout=args.chunk_timeout,
              probe_timeout=args.probe_timeout, memory=args.memory,
              use_bwrap=False if args.no_sandbox else None,
              fork_server=False if args.no_fork_server else None,
              timeout_clock="wall" if args.wall_clock_timeouts else "own")
        return 0
    if args.command == "feedback":
        from .feedback import write_feedback

        paths = write_feedback(args.assignment, url, args.course)
        print(f"wrote {len(paths)} feedback file(s) under {args.course / 'feedback'}")
        return 0
    if args.command == "export":
        from .export import export_cli

        return export_cli(url, args)
    if args.command == "report":
        from .record import results
        from .report import analytics_text, check_stats, write_report

        rows = results(url, args.assignment)
        print(analytics_text(args.assignment, check_stats(rows), len(rows)), end="")
        print(f"wrote {write_report(args.assignment, url, args.course)}")
        return 0
    if args.command == "check-db":
        from .record import integrity_problems

        problems = integrity_problems(url)
        for p in problems:
            print(p, file=sys.stderr)
        print("gradebook ok" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    return 2


if __name__ == "__main__":
    sys.exit(main())

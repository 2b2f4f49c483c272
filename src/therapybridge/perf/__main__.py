"""Re-render reports from a saved ``.perf.json`` without the full CLI: ``python -m therapybridge.perf X.perf.json``."""

from __future__ import annotations

import argparse
import sys

from ..errors import TherapyBridgeError
from .reports import REPORT_FORMATS, render_reports_from_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m therapybridge.perf", description=__doc__)
    parser.add_argument("reports", nargs="+", help="<stem>.perf.json files written by --profile")
    parser.add_argument("-o", "--output-dir", default=None, help="where to write (default: beside each file)")
    parser.add_argument("--format", default="txt,trace,html", help=f"comma-separated: {','.join(REPORT_FORMATS)}")
    parser.add_argument("--redact-paths", action="store_true", help="hash file names in the re-rendered reports")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    status = 0
    for report in args.reports:
        try:
            for path in render_reports_from_json(report, args.output_dir, formats, redact_paths=args.redact_paths):
                sys.stdout.write(f"{path}\n")
        except TherapyBridgeError as exc:
            sys.stderr.write(f"error: {exc}\n")
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())

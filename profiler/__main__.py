"""`python -m profiler` is the `frameduel` command."""

import sys

try:
    from profiler.cli import main
except KeyboardInterrupt:  # Ctrl+C while Python is still importing: one line, no traceback
    print("frameduel: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())

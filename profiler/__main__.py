"""`python -m profiler` is the `frameduel` command."""

from profiler.cli import main

raise SystemExit(main())

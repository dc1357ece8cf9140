"""The desktop bundle's entry point (PyInstaller): the `frameduel` command, frameworks excluded."""

from profiler.cli import main

raise SystemExit(main())

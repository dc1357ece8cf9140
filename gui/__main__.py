"""``python -m gui [CONFIG...] [--run] [--store PATH]``: the window without the full CLI."""

from __future__ import annotations

import argparse
import sys

from gui.app import main


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gui", description="FrameDuel's window")
    parser.add_argument("configs", nargs="*", help="config files to load (.yaml/.toml/.json)")
    parser.add_argument("--run", action="store_true", help="run the first valid config at once")
    parser.add_argument("--store", default=None, help="the SQLite store (default: XDG data dir)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = _parse(sys.argv[1:])
    sys.exit(main(args.configs, args.run, args.store))

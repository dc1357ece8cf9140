#!/usr/bin/env bash
# Takes the README screenshots (docs/screenshots/*.png) from real windows on a virtual X display:
# starts `Xvfb :99` unless one already runs there, runs packaging/take_screenshots.py against it,
# and stops the Xvfb it started. Usage: packaging/screenshots.sh [args for take_screenshots.py]
set -euo pipefail
cd "$(dirname "$0")/.."

display_num=${FRAMEDUEL_XVFB_DISPLAY:-99}
screen=1600x1000x24
script=packaging/take_screenshots.py
python=.venv/bin/python

die() { echo "screenshots.sh: $*" >&2; exit 1; }

[[ -f $script ]] || die "$script is missing: nothing to run (write it first)"
[[ -x $python ]] || die "$python is missing: run 'make setup' first"
command -v Xvfb >/dev/null || die "Xvfb is not installed: run 'make setup' (Debian package xvfb)"

lock=/tmp/.X${display_num}-lock
socket=/tmp/.X11-unix/X${display_num}
xvfb_pid=""

stop_xvfb() {
	if [[ -n $xvfb_pid ]] && kill -0 "$xvfb_pid" 2>/dev/null; then
		kill "$xvfb_pid"
		wait "$xvfb_pid" 2>/dev/null || true
	fi
}

if [[ -f $lock ]] && kill -0 "$(tr -d ' ' <"$lock")" 2>/dev/null; then
	echo "screenshots.sh: reusing the X server already running on :$display_num"
else
	Xvfb ":$display_num" -screen 0 "$screen" -nolisten tcp >/dev/null 2>&1 &
	xvfb_pid=$!
	trap stop_xvfb EXIT
	for _ in $(seq 100); do
		[[ -S $socket ]] && break
		kill -0 "$xvfb_pid" 2>/dev/null || die "Xvfb :$display_num exited at start"
		sleep 0.1
	done
	[[ -S $socket ]] || die "Xvfb :$display_num did not come up within 10 s"
fi

# A real X window: not the offscreen platform, not Wayland.
env -u WAYLAND_DISPLAY DISPLAY=":$display_num" QT_QPA_PLATFORM=xcb "$python" "$script" "$@"

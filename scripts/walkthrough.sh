#!/usr/bin/env bash
# A reviewer's walk through the terminal screens at 80×24, recorded as text.
#
# Starts the demo (embedded PostgreSQL, simulated PLCs, the server) in the background, opens
# `factoryos tui` in a detached tmux session of exactly 80×24, signs in as the demo supervisor
# through the real sign-in screen, presses the keys a person would through the main screens,
# and saves what the terminal showed after each step as a text file. Nothing is kept running.
#
#   scripts/walkthrough.sh [OUTPUT_DIR]      (default: ./walkthrough-<date-time>)
#
# Needs tmux and the venv (scripts/test.sh creates it). The demo's data goes to a fresh folder
# inside OUTPUT_DIR, so the walk always starts from the same seeded plant; it is removed at the
# end. Env: PAUSE (seconds after each key, default 2), FACTORYOS (the command, default
# .venv/bin/factoryos), KEEP_DEMO_DATA=1 keeps the demo's data folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

out=${1:-"$root/walkthrough-$(date +%Y%m%d-%H%M%S)"}
mkdir -p "$out"
out=$(cd "$out" && pwd)
factoryos=${FACTORYOS:-"$root/.venv/bin/factoryos"}
pause=${PAUSE:-2}
session="factoryos-walk-$$"

command -v tmux >/dev/null || { echo "tmux is needed (Debian: apt-get install tmux)" >&2; exit 1; }
[ -x "$factoryos" ] || { echo "no $factoryos: run scripts/test.sh once to create the venv" >&2; exit 1; }

demo_pid=""
data=""
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
    kill -TERM "$demo_pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.5; done
  fi
  # The captures are the result; the demo's database (~50 MB) goes unless KEEP_DEMO_DATA=1.
  if [ -z "${KEEP_DEMO_DATA:-}" ] && [ -n "${data:-}" ] && ! kill -0 "${demo_pid:-0}" 2>/dev/null; then
    rm -rf "$data"
  fi
}
trap cleanup EXIT INT TERM

# -- the demo, its own data, a free port --------------------------------------------------------
data="$out/demo-data"
port=$("$root/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "starting the demo on 127.0.0.1:$port (log: $out/demo.log)…"
FACTORYOS_DATA_DIR="$data" "$factoryos" demo --headless --port "$port" >"$out/demo.log" 2>&1 &
demo_pid=$!
credentials="$data/demo/demo-credentials.json"
for _ in $(seq 240); do
  if grep -q "running at" "$out/demo.log" 2>/dev/null && [ -f "$credentials" ]; then break; fi
  kill -0 "$demo_pid" 2>/dev/null || { echo "the demo stopped; see $out/demo.log" >&2; exit 1; }
  sleep 0.5
done
grep -q "running at" "$out/demo.log" || { echo "the demo did not start in 2 minutes; see $out/demo.log" >&2; exit 1; }
read -r email password < <("$root/.venv/bin/python" -c '
import json, sys
who = json.load(open(sys.argv[1]))["supervisor"]
print(who["email"], who["password"])' "$credentials")

# -- the terminal: 80×24, a fresh client profile ------------------------------------------------
tmux new-session -d -s "$session" -x 80 -y 24 \
  "FACTORYOS_CLIENT_CONFIG='$out/client/client.json' FACTORYOS_CLIENT_OUTBOX='$out/client/outbox' \
   '$factoryos' tui --server http://127.0.0.1:$port; sleep 3600"
tmux set-option -t "$session" status off >/dev/null
tmux resize-window -t "$session" -x 80 -y 24 2>/dev/null || true

step=0
capture() {  # capture NAME: what the terminal shows now, as text and with colours (.ansi)
  step=$((step + 1))
  file=$(printf '%s/%02d-%s' "$out" "$step" "$1")
  tmux capture-pane -p -t "$session" >"$file.txt"
  tmux capture-pane -p -e -t "$session" >"$file.ansi"
  echo "  $(basename "$file").txt"
}
keys() { tmux send-keys -t "$session" "$@"; sleep "$pause"; }
type_text() { tmux send-keys -t "$session" -l "$1"; sleep 0.5; }
wait_for() {  # wait_for TEXT: until the screen shows TEXT (at most 30 s)
  for _ in $(seq 60); do tmux capture-pane -p -t "$session" | grep -qF "$1" && return 0; sleep 0.5; done
  echo "  (did not see \"$1\": the capture shows what was there)" >&2
}

echo "walking through the screens:"
wait_for "Sign in to FactoryOS"
capture sign-in
type_text "$email"; keys Enter
type_text "$password"; keys Enter
wait_for "Dashboard"
capture start-menu
keys "?"; capture help
keys Escape
keys 2; wait_for "of the shift done"; sleep "$pause"; capture dashboard
keys Tab; keys Tab; keys Tab; capture dashboard-tile-focused  # site, line, then the first tile
keys Enter; sleep "$pause"; capture machine-detail
keys Escape; keys Escape
keys 1; sleep "$pause"; capture operator-input
keys F7; capture operator-downtime
keys Escape
keys 3; capture machines
keys Escape
keys 4; capture planning
keys Escape
keys 7; capture reports
keys Escape
keys 8; capture orders
keys Escape
keys F9; capture start-menu-high-contrast
keys F9
keys C-o; wait_for "Sign in to FactoryOS"; capture signed-out
keys C-q

echo "done: $step screens captured as text in $out"
echo "(read one with: cat '$out/04-dashboard.txt'; in colour: cat '$out/04-dashboard.ansi'; demo log: $out/demo.log)"

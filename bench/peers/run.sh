#!/usr/bin/env bash
# Peer performance anchor for the GitOps agent: render -> read -> diff -> apply
# of a "device config" (N files under $ROOT/etc/device + hostname, resolv.conf,
# timezone), measured for
#   floor    plain Python (floor.py): read desired.json, compare content+mode
#   pyinfra  pyinfra @local deploy.py  (-y = apply, --dry --diff = check)
#   ansible  ansible-playbook -c local playbook.yml (apply, --check --diff = check)
#   (our tool: see the marked block "OUR TOOL" below)
# Scenarios: A cold apply into an empty root; B steady-state check (0 changes);
#            C drift check (one file edited by hand -> exactly 1 change).
# Every scenario is run once first and VERIFIED (changes the tool reported, and
# the files on disk checked by floor.py); that run is the warm-up, then the
# timed runs follow. Figures: whole-process wall seconds and peak RSS (largest
# single process), median of the timed runs.
#
# Idempotent; writes only under $SANDBOX (must be under /tmp) and, when it is
# missing, creates the peer venv $PEER_VENV (outside the repository).
#
# Knobs (environment):
#   SIZES="10 100 1000"     sizes N to run
#   ANSIBLE_MAX_N=100       largest N for ansible (N=1000 costs ~7 min PER RUN;
#                           ANSIBLE_MAX_N=1000 adds ~21 min)
#   PROFILE=quick|full      runs per row: quick (default, ~7 min total on 2 cores)
#                           or full (as in RESULTS.md, ~47 min with ANSIBLE_MAX_N=1000
#                           EXTRAS=1)
#   EXTRAS=1                also run the side measurements (ansible loop vs
#                           one-task-per-file, pipelining, gather_facts, ansible-pull)
#   PEER_VENV=/tmp/peer-venv  SANDBOX=/tmp/peerbench
#   TIMECMD="python timecmd.py"  timer with timecmd.py's interface and output
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEER_VENV=${PEER_VENV:-/tmp/peer-venv}
SANDBOX=${SANDBOX:-/tmp/peerbench}
SIZES=${SIZES:-"10 100 1000"}
ANSIBLE_MAX_N=${ANSIBLE_MAX_N:-100}
PYINFRA_MAX_N=${PYINFRA_MAX_N:-1000}
PROFILE=${PROFILE:-quick}
EXTRAS=${EXTRAS:-0}
PEER_PINS=${PEER_PINS:-"ansible-core==2.19.14 pyinfra==3.10.0"}

case "$SANDBOX" in
  /tmp/?*) ;;
  *) echo "SANDBOX must be a directory under /tmp (got '$SANDBOX')" >&2; exit 2 ;;
esac

# ---------------------------------------------------------------- peer venv
if [ ! -x "$PEER_VENV/bin/ansible-playbook" ] || [ ! -x "$PEER_VENV/bin/pyinfra" ]; then
  echo "creating $PEER_VENV with $PEER_PINS" >&2
  python3 -m venv "$PEER_VENV" && "$PEER_VENV/bin/pip" install -q $PEER_PINS >&2 || exit 1
fi
PY=$PEER_VENV/bin/python          # the real interpreter (no pyenv shim) for all Python rows
TIMECMD=${TIMECMD:-"$PY $HERE/timecmd.py"}

# Ansible keeps its state/temp files in the sandbox, not in ~/.ansible
export ANSIBLE_HOME=$SANDBOX/ansible-home ANSIBLE_LOCAL_TEMP=$SANDBOX/ansible-tmp \
       ANSIBLE_REMOTE_TMP=$SANDBOX/ansible-tmp-remote ANSIBLE_LOCALHOST_WARNING=False \
       ANSIBLE_INVENTORY_UNPARSED_WARNING=False ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=False
export NO_COLOR=1
unset ANSIBLE_CONFIG ANSIBLE_PIPELINING
mkdir -p "$SANDBOX"
cd "$SANDBOX" || exit 1           # no stray ansible.cfg / config.py from the caller's cwd

# ------------------------------------------------------------- run helpers
ROWS=()
runs_for() {  # seconds of the verified run -> number of timed runs (0 = reuse the verified run)
  awk -v t="$1" -v p="$PROFILE" 'BEGIN {
    if (p == "full") n = (t < 1 ? 10 : t < 15 ? 5 : t < 120 ? 3 : 0);
    else             n = (t < 1 ? 10 : t < 6 ? 5 : t < 15 ? 3 : 0);
    print n }'
}
RESET=(sh -c 'rm -rf -- "$0" && exec "$@"')               # RESET ROOT CMD... : empty root, then CMD

drift() {  # one managed file edited by hand
  local f="$1/etc/device/$(printf 'dev-%04d.conf' $(( $2 / 2 )))"
  printf '# edited by hand\n' >> "$f"
}

# bench TOOL N SCEN EXPECT_TOOL EXPECT_DISK CMD...
#   EXPECT_TOOL: changes the tool must report; EXPECT_DISK: floor.py differences after the run
bench() {
  local tool=$1 n=$2 scen=$3 want=$4 want_disk=$5; shift 5
  local log="$SANDBOX/logs/$tool-N$n-$scen.log" first got disk nruns res wall peak ok=ok
  mkdir -p "$SANDBOX/logs"; rm -f "$log"
  first=$($TIMECMD -n 1 --warmup 0 --log "$log" -- "$@")
  got=$("$PY" "$HERE/count_changes.py" "${tool%%[-+ ]*}" "$log")
  disk=$("$PY" "$HERE/floor.py" "$W/desired.json")
  [ "${first##* }" = 0 ] || ok="FAIL(exit ${first##* })"
  [ "$got" = "$want" ] || ok="FAIL(reported $got, want $want)"
  [ "$disk" = "$want_disk" ] || ok="FAIL(disk diff $disk, want $want_disk)"
  nruns=$(runs_for "${first%% *}")
  if [ "$nruns" -gt 0 ] && [ "$ok" = ok ]; then
    res=$($TIMECMD -n "$nruns" --warmup 0 -- "$@")
  else
    res=$first
  fi
  read -r wall peak _ _ nruns _ <<<"$res"
  ROWS+=("| $tool | $n | $scen | $wall | $peak | $nruns | $got | $ok |")
  echo "  $tool N=$n $scen: ${wall}s ${peak}MiB n=$nruns reported=$got $ok" >&2
}
skip() { ROWS+=("| $1 | $2 | A/B/C | - | - | - | - | skipped: $3 |"); }

# ------------------------------------------------------------------ startup
W=$SANDBOX/startup; mkdir -p "$W"
for cmd in "$PY -c pass" "python3 -c pass"; do
  res=$($TIMECMD -n 10 --warmup 1 -- $cmd)
  read -r wall peak _ _ nruns _ <<<"$res"
  ROWS+=("| \`$cmd\` | - | startup | $wall | $peak | $nruns | - | - |")
done

# ---------------------------------------------------------------- the matrix
for n in $SIZES; do
  W=$SANDBOX/N$n               # generated inputs (desired.json, playbook.yml, deploy.py)
  ROOT=$W/root                 # the sandbox root every tool manages
  "$PY" "$HERE/gen.py" "$n" "$ROOT" "$W" || exit 1
  echo "N=$n" >&2

  # floor: plain Python, the physical limit for plan (and a naive apply)
  bench floor "$n" A $((n + 3)) 0 "${RESET[@]}" "$ROOT" "$PY" "$HERE/floor.py" "$W/desired.json" --apply
  bench floor "$n" B 0 0 "$PY" "$HERE/floor.py" "$W/desired.json"
  drift "$ROOT" "$n"
  bench floor "$n" C 1 1 "$PY" "$HERE/floor.py" "$W/desired.json"

  if [ "$n" -le "$PYINFRA_MAX_N" ]; then
    bench pyinfra "$n" A $((n + 3)) 0 "${RESET[@]}" "$ROOT" "$PEER_VENV/bin/pyinfra" @local "$W/deploy.py" -y
    bench pyinfra "$n" B 0 0 "$PEER_VENV/bin/pyinfra" @local "$W/deploy.py" --dry --diff
    drift "$ROOT" "$n"
    bench pyinfra "$n" C 1 1 "$PEER_VENV/bin/pyinfra" @local "$W/deploy.py" --dry --diff
  else
    skip pyinfra "$n" "N > PYINFRA_MAX_N=$PYINFRA_MAX_N"
  fi

  if [ "$n" -le "$ANSIBLE_MAX_N" ]; then
    bench ansible "$n" A $((n + 3)) 0 "${RESET[@]}" "$ROOT" "$PEER_VENV/bin/ansible-playbook" -i localhost, "$W/playbook.yml"
    bench ansible "$n" B 0 0 "$PEER_VENV/bin/ansible-playbook" -i localhost, "$W/playbook.yml" --check --diff
    drift "$ROOT" "$n"
    bench ansible "$n" C 1 1 "$PEER_VENV/bin/ansible-playbook" -i localhost, "$W/playbook.yml" --check --diff
  else
    skip ansible "$n" "N > ANSIBLE_MAX_N=$ANSIBLE_MAX_N (~0.4 s per file per run; set ANSIBLE_MAX_N=1000)"
  fi

  # ========================================================================
  # >>> OUR TOOL ("reconcile") <<<
  # The same N+3 files as one generated fleet device ($W/fleet, written by gen.py),
  # linux backend against the sandbox root (--root: files only, no live-host command).
  # A: empty root, then apply. B/C: plan (exit 2 means "changes planned": a success here).
  if [ -n "${RECONCILE:-}" ]; then
    OURS=(--fleet "$W/fleet" --device bench --backend linux --root "$ROOT" --state-dir "$W/state")
    PLAN_OK=(sh -c '"$@"; rc=$?; [ "$rc" = 2 ] && exit 0; exit "$rc"' plan)
    MKROOT=(sh -c 'mkdir -p "$0" && exec "$@"' "$ROOT")
    bench reconcile "$n" A $((n + 3)) 0 "${RESET[@]}" "$ROOT" "${MKROOT[@]}" "$RECONCILE" apply "${OURS[@]}" --yes
    bench reconcile "$n" B 0 0 "${PLAN_OK[@]}" "$RECONCILE" plan "${OURS[@]}"
    drift "$ROOT" "$n"
    bench reconcile "$n" C 1 1 "${PLAN_OK[@]}" "$RECONCILE" plan "${OURS[@]}"
  fi
  # ========================================================================
done

# ----------------------------------------------------------- side measurements
if [ "$EXTRAS" = 1 ]; then
  n=10; W=$SANDBOX/N$n; ROOT=$W/root
  "$PY" "$HERE/gen.py" "$n" "$ROOT" "$W" || exit 1
  sed 's/gather_facts: false/gather_facts: true/' "$W/playbook.yml" > "$W/playbook-facts.yml"
  echo "extras (N=$n)" >&2
  bench ansible-tasks "$n" A $((n + 3)) 0 "${RESET[@]}" "$ROOT" "$PEER_VENV/bin/ansible-playbook" -i localhost, "$W/playbook-tasks.yml"
  bench ansible-tasks "$n" B 0 0 "$PEER_VENV/bin/ansible-playbook" -i localhost, "$W/playbook-tasks.yml" --check --diff
  ANSIBLE_PIPELINING=True bench "ansible +pipelining" "$n" B 0 0 "$PEER_VENV/bin/ansible-playbook" -i localhost, "$W/playbook.yml" --check --diff
  bench "ansible +facts" "$n" B 0 0 "$PEER_VENV/bin/ansible-playbook" -i localhost, "$W/playbook-facts.yml" --check --diff
  # ansible-pull: the same play fetched from a local git repository (file://, no network)
  REPO=$SANDBOX/pull-repo
  rm -rf "$REPO" "$SANDBOX/pull-checkout" && mkdir -p "$REPO" && cp "$W/playbook.yml" "$REPO/local.yml" &&
    git -C "$REPO" init -q -b main && git -C "$REPO" add local.yml &&
    git -C "$REPO" -c user.name=bench -c user.email=bench@localhost commit -q -m bench || exit 1
  # (its ad-hoc git step does interpreter discovery, which here finds a broken pyenv shim: pin it)
  ANSIBLE_PYTHON_INTERPRETER=$PY bench ansible-pull "$n" B 0 0 "$PEER_VENV/bin/ansible-pull" -U "file://$REPO" -C main \
    -d "$SANDBOX/pull-checkout" -i localhost, local.yml --check --diff
fi

# ---------------------------------------------------------------- the table
echo
echo "| tool | N | scenario | median wall s | median peak RSS MiB | runs | changes reported | verified |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"

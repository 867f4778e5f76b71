#!/usr/bin/env bash
# End to end on a real cluster with kubemr installed (scripts/minikube-up.sh, or
# `kubectl apply -k k8s/` with the sample texts on the volume and the streaming image built).
# Runs MapReduceJobs and checks, one by one, printing PASS or FAIL for each:
#   1. wordcount succeeds and its output equals a local sequential run over the same files
#   2. more than one worker pod ran it
#   3. its logs are saved on the shared volume (each pod's and each task attempt's)
#   4. its worker Jobs are gone afterwards
#   5. the coordinator pod deleted mid-job: the job still succeeds, output equal to the sequential run
#   6. a MapReduceJob naming an image that does not exist ends Failed, with the reason
#   7. the streaming sample (k8s/samples/streaming-wordcount.yaml) succeeds
#   8. the dashboard answers, and knows the jobs
#
#   scripts/e2e-cluster.sh
# The cluster: $KUBECONFIG if set and answering, else ~/.kube/config. When neither answers, it
# prints "skipped: ..." and exits 0 (E2E_REQUIRE=1 makes that a failure). Settings: E2E_INPUTS
# (default inputs/gutenberg/pg-*.txt), KUBEMR_NAMESPACE (kubemr), TIMEOUT (seconds per job, 900),
# FAIL_TIMEOUT (seconds for the bad image to fail the job, 600). Exit 1 if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "skipped: $* (no cluster to test against)"
  if [[ -n "${E2E_REQUIRE:-}" ]]; then echo "E2E_REQUIRE is set: failing instead" >&2; exit 1; fi
  exit 0
}

command -v kubectl >/dev/null || skip "kubectl is not installed"
# Which kubeconfig: KUBECONFIG first, then ~/.kube/config; the first whose API server answers.
tried=()
chosen=""
candidates=()
[[ -n "${KUBECONFIG:-}" ]] && candidates+=("$KUBECONFIG")
[[ -f "$HOME/.kube/config" ]] && candidates+=("$HOME/.kube/config")
for cfg in ${candidates[@]+"${candidates[@]}"}; do
  if err="$(KUBECONFIG="$cfg" kubectl version --request-timeout=10s 2>&1 >/dev/null)"; then
    chosen="$cfg"
    break
  fi
  tried+=("$cfg: $(printf '%s' "$err" | tail -n1)")
done
if [[ -z "$chosen" ]]; then
  if (( ${#candidates[@]} == 0 )); then
    skip "KUBECONFIG is not set and $HOME/.kube/config does not exist"
  fi
  reasons="$(printf '%s; ' "${tried[@]}")"
  skip "no configured cluster answers (${reasons%; })"
fi
export KUBECONFIG="$chosen"

NS="${KUBEMR_NAMESPACE:-kubemr}"
INPUTS="${E2E_INPUTS:-inputs/gutenberg/pg-*.txt}"
TIMEOUT="${TIMEOUT:-900}"
FAIL_TIMEOUT="${FAIL_TIMEOUT:-600}"
RUN="e2e-$(date +%s)"
WORK="$(mktemp -d)"
k() { kubectl -n "$NS" "$@"; }
forward_pid=""
created=()
cleanup() {
  if [[ -n "$forward_pid" ]]; then kill "$forward_pid" 2>/dev/null || true; fi
  for r in ${created[@]+"${created[@]}"}; do k delete mapreducejob "$r" --ignore-not-found --wait=false >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

passed=0
failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
note() { echo "  ... $*"; }

echo "cluster: $(kubectl config current-context) ($KUBECONFIG), namespace $NS"
[[ -f dist/cmd/kubemr/main.js ]] || npm run build
k get deployment/kubemr-coordinator >/dev/null || { echo "FAIL: kubemr is not installed in namespace $NS (scripts/minikube-up.sh)"; exit 1; }
k rollout status deployment/kubemr-coordinator --timeout=300s >/dev/null

# The runtime image has node and no shell: files on the volume are listed and read with node
# inside the coordinator pod.
remote_ls() {
  k exec deploy/kubemr-coordinator -c coordinator -- node -e '
    const fs = require("fs"), path = require("path");
    const [dir, re] = [process.argv[1], new RegExp(process.argv[2])];
    let names = [];
    try { names = fs.readdirSync(dir); } catch {}
    for (const f of names.sort()) if (re.test(f)) console.log(path.join(dir, f));' "$1" "$2"
}
remote_cat() { k exec deploy/kubemr-coordinator -c coordinator -- node -e 'process.stdout.write(require("fs").readFileSync(process.argv[1]))' "$1"; }
remote_size() { k exec deploy/kubemr-coordinator -c coordinator -- node -e 'console.log(require("fs").statSync(process.argv[1]).size)' "$1"; }
field() { k get mapreducejob "$1" -o jsonpath="{$2}" 2>/dev/null || true; }

submit() { # name, then the spec's lines (YAML, indented by two)
  local name="$1"
  shift
  created+=("$name")
  printf 'apiVersion: kubemr.io/v1alpha1\nkind: MapReduceJob\nmetadata:\n  name: %s\nspec:\n' "$name" > "$WORK/$name.yaml"
  printf '  %s\n' "$@" >> "$WORK/$name.yaml"
  k apply -f "$WORK/$name.yaml" >/dev/null
}

# Waits until a MapReduceJob ends (or `timeout` seconds pass) and sets PHASE to its phase. While
# it runs, remembers every worker pod seen in $WORK/<name>.pods and calls `on_progress` if defined.
wait_done() {
  local name="$1" timeout="$2" job=""
  local deadline=$((SECONDS + timeout))
  PHASE=""
  : > "$WORK/$name.pods"
  while (( SECONDS < deadline )); do
    PHASE="$(field "$name" .status.phase)"
    job="$(field "$name" .status.jobId)"
    if [[ -n "$job" ]]; then
      k get pods -l "kubemr.io/job=$job" -o name 2>/dev/null >> "$WORK/$name.pods" || true
    fi
    case "$PHASE" in Succeeded | Failed | Cancelled) return 0 ;; esac
    if declare -F on_progress >/dev/null; then on_progress "$name"; fi
    sleep 2
  done
  PHASE="${PHASE:-none} (after ${timeout}s)"
}

# Copies a job's outputs off the volume and compares them with `kubemr run --sequential`.
# $1 resource, $2 the app as the local sequential run names it (or "streaming"), rest: run flags.
same_as_sequential() {
  local name="$1" app="$2"
  shift 2
  local job
  job="$(field "$name" .status.jobId)"
  mkdir -p "$WORK/$name/cluster"
  local outputs
  mapfile -t outputs < <(remote_ls "/data/jobs/$job/output" '^mr-out-')
  (( ${#outputs[@]} > 0 )) || { echo "no output files in /data/jobs/$job/output"; return 1; }
  for f in "${outputs[@]}"; do remote_cat "$f" > "$WORK/$name/cluster/$(basename "$f")"; done
  local seq=(node dist/cmd/kubemr/main.js run --sequential)
  [[ "$app" != streaming ]] && seq+=("$app")
  "${seq[@]}" "$@" "$WORK"/inputs/* --out "$WORK/$name/seq" --data "$WORK/$name/data" --quiet >/dev/null
  LC_ALL=C sort "$WORK/$name"/cluster/mr-out-* > "$WORK/$name/cluster.sorted"
  LC_ALL=C sort "$WORK/$name"/seq/mr-out-* > "$WORK/$name/seq.sorted"
  if cmp -s "$WORK/$name/cluster.sorted" "$WORK/$name/seq.sorted"; then
    echo "$(wc -l < "$WORK/$name/seq.sorted" | tr -d ' ') records, ${#outputs[@]} files"
  else
    echo "outputs differ from the sequential run:"
    diff "$WORK/$name/seq.sorted" "$WORK/$name/cluster.sorted" | head -10
    return 1
  fi
}

echo "==> inputs: $INPUTS, copied here for the sequential runs"
mkdir -p "$WORK/inputs"
glob_dir="/data/$(dirname "$INPUTS")"
glob_re="^$(basename "$INPUTS" | sed -e 's/[.]/\\./g' -e 's/[*]/.*/g')\$"
mapfile -t inputs < <(remote_ls "$glob_dir" "$glob_re")
(( ${#inputs[@]} > 0 )) || { echo "FAIL: no inputs match $INPUTS on the volume (scripts/minikube-up.sh puts the sample texts there)"; exit 1; }
for f in "${inputs[@]}"; do remote_cat "$f" > "$WORK/inputs/$(basename "$f")"; done
note "${#inputs[@]} files"

# --- 1-4: wordcount ----------------------------------------------------------------------------
WC="$RUN-wordcount"
echo "==> $WC: wordcount, 3 workers, 5 reducers"
submit "$WC" 'app: wordcount' "inputs: [\"$INPUTS\"]" 'reducers: 5' 'workers: 3'
wait_done "$WC" "$TIMEOUT"
WC_JOB="$(field "$WC" .status.jobId)"
if [[ "$PHASE" == Succeeded ]] && result="$(same_as_sequential "$WC" wordcount 2>&1)"; then
  pass "1. wordcount succeeded (job $WC_JOB); its output equals the sequential run ($result)"
else
  fail "1. wordcount ended ${PHASE}: $(field "$WC" .status.message) ${result:-}"
fi

pod_logs="$(remote_ls "/data/jobs/$WC_JOB/logs" '^pod-.*[.]log$' || true)"
pods="$( { sed 's|^pod/||' "$WORK/$WC.pods"; printf '%s\n' "$pod_logs" | sed -n 's|.*/pod-\(.*\)[.]log$|\1|p'; } | sort -u | sed '/^$/d')"
npods="$(printf '%s\n' "$pods" | sed '/^$/d' | wc -l | tr -d ' ')"
if (( npods > 1 )); then
  pass "2. $npods worker pods ran it: $(printf '%s' "$pods" | tr '\n' ' ')"
else
  fail "2. expected more than one worker pod, saw $npods"
fi

attempt_logs="$(remote_ls "/data/jobs/$WC_JOB/logs" '^(map|reduce)-.*[.]log$' || true)"
n_pod_logs="$(printf '%s\n' "$pod_logs" | sed '/^$/d' | wc -l | tr -d ' ')"
n_attempt_logs="$(printf '%s\n' "$attempt_logs" | sed '/^$/d' | wc -l | tr -d ' ')"
first_pod_log="$(printf '%s\n' "$pod_logs" | head -n1)"
if (( n_pod_logs >= npods && npods > 0 && n_attempt_logs > 0 )) && [[ "$(remote_size "$first_pod_log")" -gt 0 ]]; then
  pass "3. logs saved on the volume under /data/jobs/$WC_JOB/logs: $n_pod_logs pod logs, $n_attempt_logs task attempt logs"
else
  fail "3. expected a log per worker pod ($npods) and per task attempt under /data/jobs/$WC_JOB/logs; found $n_pod_logs pod logs, $n_attempt_logs attempt logs"
fi

left=""
deadline=$((SECONDS + 120))
while (( SECONDS < deadline )); do
  left="$(k get jobs -l "app.kubernetes.io/managed-by=kubemr,kubemr.io/job=$WC_JOB" -o name 2>/dev/null || true)"
  [[ -z "$left" ]] && break
  sleep 3
done
if [[ -z "$left" ]]; then
  pass "4. no worker Job of $WC_JOB is left"
else
  fail "4. worker Jobs still there 120 s after the job ended: $left"
fi

# --- 5: the coordinator pod deleted mid-job ----------------------------------------------------
SLOW="$RUN-restart"
SLOW_APP=dist/test/apps/slow-wordcount.js
echo "==> $SLOW: a slowed-down wordcount (4 s per map call); the coordinator pod is deleted mid-job"
submit "$SLOW" "app: /app/$SLOW_APP" "inputs: [\"$INPUTS\"]" 'reducers: 3' 'workers: 2' 'params: { mapDelayMs: "4000" }'
old_pod="$(k get pods -l app.kubernetes.io/component=coordinator -o jsonpath='{.items[0].metadata.name}')"
killed=""
on_progress() {
  local maps_done total
  [[ -n "$killed" ]] && return 0
  maps_done="$(field "$1" .status.mapsDone)"
  total="$(field "$1" .status.mapsTotal)"
  if [[ -n "$maps_done" && -n "$total" ]] && (( maps_done >= 1 && maps_done < total )); then
    killed="map $maps_done/$total"
    note "deleting coordinator pod $old_pod at $killed"
    k delete pod "$old_pod" --wait=false >/dev/null
  fi
}
wait_done "$SLOW" "$TIMEOUT"
unset -f on_progress
if [[ -z "$killed" ]]; then
  fail "5. the job ended ($PHASE) before the coordinator could be deleted mid-way"
elif [[ "$PHASE" == Succeeded ]] && k rollout status deployment/kubemr-coordinator --timeout=300s >/dev/null && result="$(same_as_sequential "$SLOW" "$SLOW_APP" 2>&1)"; then
  new_pod="$(k get pods -l app.kubernetes.io/component=coordinator --field-selector=status.phase=Running -o jsonpath='{.items[*].metadata.name}' 2>/dev/null || true)"
  pass "5. coordinator pod $old_pod deleted at $killed; ${new_pod:-a new pod} took over; the job succeeded, output equal to the sequential run ($result)"
else
  fail "5. after deleting the coordinator pod at $killed the job ended ${PHASE}: $(field "$SLOW" .status.message) ${result:-}"
fi

# --- 6: an image that does not exist ----------------------------------------------------------
BAD="$RUN-bad-image"
echo "==> $BAD: workers on an image that does not exist"
submit "$BAD" 'app: wordcount' 'image: kubemr-e2e.invalid/no-such-image:does-not-exist' "inputs: [\"$INPUTS\"]" 'reducers: 1' 'workers: 1'
wait_done "$BAD" "$FAIL_TIMEOUT"
message="$(field "$BAD" .status.message)"
if [[ "$PHASE" == Failed ]] && grep -Eiq 'ErrImagePull|ImagePullBackOff|InvalidImageName|image' <<<"$message"; then
  pass "6. the job ended Failed with the reason: $message"
else
  fail "6. expected Failed with the image pull error within ${FAIL_TIMEOUT}s, got ${PHASE}: ${message:-no message}"
fi

# --- 7: the streaming sample ------------------------------------------------------------------
ST="$RUN-streaming"
echo "==> $ST: the streaming sample (python3 mapper and reducer in kubemr-python-streaming:dev)"
sample_spec="$(sed -n '/^spec:/,$p' k8s/samples/streaming-wordcount.yaml | tail -n +2 | sed 's/^  //')"
# Over the same inputs as the other checks (the sample names the Gutenberg texts).
sample_spec="${sample_spec//inputs\/gutenberg\/pg-\*.txt/$INPUTS}"
mapfile -t spec_lines <<<"$sample_spec"
submit "$ST" "${spec_lines[@]}"
wait_done "$ST" "$TIMEOUT"
if [[ "$PHASE" != Succeeded ]]; then
  fail "7. the streaming sample ended ${PHASE}: $(field "$ST" .status.message)"
elif command -v python3 >/dev/null; then
  if result="$(same_as_sequential "$ST" streaming --mapper "python3 examples/docker/streaming/mapper.py" --reducer "python3 examples/docker/streaming/reducer.py" 2>&1)"; then
    pass "7. the streaming sample succeeded; its output equals the sequential run ($result)"
  else
    fail "7. the streaming sample succeeded but: $result"
  fi
else
  pass "7. the streaming sample succeeded ($(field "$ST" .status.progress); python3 is not here for a sequential comparison)"
fi

# --- 8: the dashboard -------------------------------------------------------------------------
echo "==> the dashboard, through kubectl port-forward"
# shellcheck disable=SC2016 # the ${...} are JavaScript's
dashboard_probe='    const [base, job, token] = process.argv.slice(1);
    (async () => {
      const health = await fetch(`${base}/healthz`);
      if (!health.ok) throw new Error(`/healthz answered ${health.status}`);
      const r = await fetch(`${base}/api/jobs`, { headers: { authorization: `Bearer ${token}` } });
      const body = await r.json();
      const ids = (body.jobs ?? []).map((j) => j.id);
      if (!ids.includes(job)) throw new Error(`/api/jobs lists ${ids.length} jobs, not ${job}`);
      console.log(`/healthz ${health.status}, /api/jobs ${r.status} lists ${ids.length} jobs, ${job} among them`);
    })().catch((e) => { console.log(e.message); process.exit(1); });'
k port-forward svc/kubemr-dashboard :8081 > "$WORK/forward.log" 2>&1 &
forward_pid=$!
port=""
for _ in $(seq 1 30); do
  port="$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$WORK/forward.log" | head -n1)"
  [[ -n "$port" ]] && break
  sleep 1
done
if [[ -z "$port" ]]; then
  fail "8. kubectl port-forward to the dashboard did not start: $(cat "$WORK/forward.log")"
elif answer="$(node -e "$dashboard_probe" "http://127.0.0.1:$port" "$WC_JOB" "$(k get secret kubemr-token -o jsonpath='{.data.token}' | base64 -d)" 2>&1)"; then
  pass "8. the dashboard answers: $answer"
else
  fail "8. the dashboard: $answer"
fi

echo
echo "e2e-cluster: $passed passed, $failed failed"
(( failed == 0 ))

#!/usr/bin/env bash
# End-to-end on a real cluster: run wordcount as a MapReduceJob on whatever cluster KUBECONFIG
# points at (kubemr installed with `kubectl apply -k k8s/` and the fetch Job complete), then
# compare its output with a local sequential run over the same input files (the oracle).
#   KUBECONFIG=~/.kube/config scripts/e2e-cluster.sh
# Exits 0 with "skipped: KUBECONFIG not set" when no cluster is configured.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${KUBECONFIG:-}" ]]; then
  echo "skipped: KUBECONFIG not set (point it at a cluster with kubemr installed to run this test)"
  exit 0
fi

NS="${KUBEMR_NAMESPACE:-kubemr}"
INPUTS="${E2E_INPUTS:-inputs/gutenberg/pg-*.txt}"
TIMEOUT="${TIMEOUT:-900}"
NAME="e2e-wordcount-$(date +%s)"
WORK="$(mktemp -d)"
k() { kubectl -n "$NS" "$@"; }
cleanup() {
  k delete mapreducejob "$NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[[ -f dist/cmd/kubemr/main.js ]] || npm run build
k get deployment/kubemr-coordinator >/dev/null
k wait --for=condition=complete job/kubemr-fetch --timeout=600s >/dev/null

echo "==> submitting MapReduceJob $NAME (wordcount over $INPUTS)"
k apply -f - <<YAML
apiVersion: kubemr.io/v1alpha1
kind: MapReduceJob
metadata:
  name: $NAME
spec:
  app: wordcount
  inputs: ["$INPUTS"]
  reducers: 5
  workers: 3
YAML

deadline=$((SECONDS + TIMEOUT))
while :; do
  phase="$(k get mapreducejob "$NAME" -o jsonpath='{.status.phase}' 2>/dev/null || true)"
  case "$phase" in
    Succeeded) break ;;
    Failed|Cancelled)
      echo "FAIL: $NAME ended $phase: $(k get mapreducejob "$NAME" -o jsonpath='{.status.message}')" >&2
      exit 1 ;;
  esac
  if (( SECONDS > deadline )); then echo "FAIL: $NAME not done after ${TIMEOUT}s (phase ${phase:-none})" >&2; exit 1; fi
  sleep 3
done
JOB_ID="$(k get mapreducejob "$NAME" -o jsonpath='{.status.jobId}')"
echo "==> $NAME succeeded (job $JOB_ID); fetching outputs and inputs from the shared volume"

# The runtime image has node but no shell: list and read files with node inside the coordinator pod.
remote_ls() {
  k exec deploy/kubemr-coordinator -- node -e '
    const fs = require("fs"), path = require("path");
    const [dir, re] = [process.argv[1], new RegExp(process.argv[2])];
    for (const f of fs.readdirSync(dir).sort()) if (re.test(f)) console.log(path.join(dir, f));' "$1" "$2"
}
remote_cat() { k exec deploy/kubemr-coordinator -- node -e 'process.stdout.write(require("fs").readFileSync(process.argv[1]))' "$1"; }

mkdir -p "$WORK/inputs" "$WORK/cluster"
glob_dir="/data/$(dirname "$INPUTS")"
glob_re="^$(basename "$INPUTS" | sed -e 's/[.]/\\./g' -e 's/[*]/.*/g')\$"
mapfile -t inputs < <(remote_ls "$glob_dir" "$glob_re")
(( ${#inputs[@]} > 0 )) || { echo "FAIL: no inputs match $INPUTS on the volume" >&2; exit 1; }
for f in "${inputs[@]}"; do remote_cat "$f" > "$WORK/inputs/$(basename "$f")"; done
mapfile -t outputs < <(remote_ls "/data/jobs/$JOB_ID/output" '^mr-out-')
(( ${#outputs[@]} == 5 )) || { echo "FAIL: expected 5 output files, found ${#outputs[@]}" >&2; exit 1; }
for f in "${outputs[@]}"; do remote_cat "$f" > "$WORK/cluster/$(basename "$f")"; done

echo "==> sequential run over the same ${#inputs[@]} files"
node dist/cmd/kubemr/main.js run --sequential wordcount "$WORK"/inputs/* --out "$WORK/seq" --data "$WORK/data" --quiet

LC_ALL=C sort "$WORK"/cluster/mr-out-* > "$WORK/cluster.sorted"
LC_ALL=C sort "$WORK"/seq/mr-out-* > "$WORK/seq.sorted"
if cmp -s "$WORK/cluster.sorted" "$WORK/seq.sorted"; then
  echo "PASS: cluster output matches the sequential run ($(wc -l < "$WORK/seq.sorted") keys)"
else
  echo "FAIL: cluster output differs from the sequential run:" >&2
  diff "$WORK/seq.sorted" "$WORK/cluster.sorted" | head -20 >&2
  exit 1
fi

#!/usr/bin/env bash
# Bring kubemr up on minikube, top to bottom: start the cluster, build the image inside it, apply
# k8s/, download the sample texts, run the wordcount sample and print the dashboard URL.
#   scripts/minikube-up.sh            (env: MINIKUBE_PROFILE, MINIKUBE_CPUS, MINIKUBE_MEMORY, TIMEOUT)
# Safe to re-run: every step checks or converges.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE="${MINIKUBE_PROFILE:-minikube}"
NS=kubemr
TIMEOUT="${TIMEOUT:-900}"
mk() { minikube -p "$PROFILE" "$@"; }
step() { printf '\n==> %s\n' "$*"; }

for tool in minikube kubectl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (see docs/kubernetes.md)" >&2; exit 1; }
done

step "Starting minikube (profile $PROFILE)"
if mk status >/dev/null 2>&1; then
  echo "already running"
else
  mk start --cpus="${MINIKUBE_CPUS:-4}" --memory="${MINIKUBE_MEMORY:-6g}"
fi
kubectl config use-context "$PROFILE" >/dev/null

step "Building image kubemr:dev inside minikube"
mk image build -t kubemr:dev .

step "Creating namespace and the worker token Secret"
kubectl apply -f k8s/namespace.yaml
if ! kubectl -n "$NS" get secret kubemr-token >/dev/null 2>&1; then
  token="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
  kubectl -n "$NS" create secret generic kubemr-token --from-literal=token="$token"
  unset token
else
  echo "secret/kubemr-token exists"
fi

step "Applying k8s/"
kubectl apply -k k8s/
kubectl wait --for=condition=Established crd/mapreducejobs.kubemr.io --timeout=60s
# A rebuilt image has the same tag: restart so the pods run the new one.
kubectl -n "$NS" rollout restart deployment/kubemr-coordinator deployment/kubemr-dashboard >/dev/null
kubectl -n "$NS" rollout status deployment/kubemr-coordinator --timeout=300s
kubectl -n "$NS" rollout status deployment/kubemr-dashboard --timeout=300s

step "Waiting for the fetch Job (downloads the Gutenberg texts into the shared volume)"
kubectl -n "$NS" wait --for=condition=complete job/kubemr-fetch --timeout="${TIMEOUT}s"

step "Running the wordcount sample"
kubectl apply -f k8s/samples/wordcount.yaml
deadline=$((SECONDS + TIMEOUT))
while :; do
  phase="$(kubectl -n "$NS" get mapreducejob wordcount -o jsonpath='{.status.phase}' 2>/dev/null || true)"
  progress="$(kubectl -n "$NS" get mapreducejob wordcount -o jsonpath='{.status.progress}' 2>/dev/null || true)"
  printf '  phase=%s %s\n' "${phase:-<none>}" "$progress"
  case "$phase" in
    Succeeded) break ;;
    Failed|Cancelled)
      kubectl -n "$NS" get mapreducejob wordcount -o jsonpath='{.status.message}{"\n"}' >&2
      echo "error: the wordcount job ended $phase; see: kubectl -n $NS logs deploy/kubemr-coordinator" >&2
      exit 1 ;;
  esac
  if (( SECONDS > deadline )); then echo "error: wordcount not done after ${TIMEOUT}s" >&2; exit 1; fi
  sleep 5
done
kubectl -n "$NS" get mapreducejobs

step "Dashboard"
echo "Open: $(mk service kubemr-dashboard -n "$NS" --url | head -n1)"

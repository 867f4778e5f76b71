#!/usr/bin/env bash
# Take kubemr off minikube. Deleting the namespace deletes the shared volume (all job data).
#   scripts/minikube-down.sh            remove kubemr, keep the cluster
#   scripts/minikube-down.sh --stop     ... and stop minikube
#   scripts/minikube-down.sh --delete   ... and delete the minikube cluster
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${MINIKUBE_PROFILE:-minikube}"

# MapReduceJobs first, while the coordinator can still clean up their worker Jobs.
kubectl -n kubemr delete mapreducejobs --all --ignore-not-found --wait=true --timeout=60s 2>/dev/null || true
kubectl delete -k k8s/ --ignore-not-found --wait=true
kubectl delete namespace kubemr --ignore-not-found

case "${1:-}" in
  --stop) minikube -p "$PROFILE" stop ;;
  --delete) minikube -p "$PROFILE" delete ;;
  "") ;;
  *) echo "usage: $0 [--stop|--delete]" >&2; exit 2 ;;
esac

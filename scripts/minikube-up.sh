#!/usr/bin/env bash
# Bring kubemr up on minikube, top to bottom: start the cluster, build the images inside it, apply
# k8s/, put the sample texts on the shared volume, run the wordcount sample and say how to open
# the dashboard.
#   scripts/minikube-up.sh
#   scripts/minikube-up.sh --render    print the manifests it would apply, and stop (no cluster needed)
# Settings (environment):
#   MINIKUBE_PROFILE, MINIKUBE_CPUS, MINIKUBE_MEMORY   the cluster (default minikube, 4, 6g)
#   MINIKUBE_NODES        nodes of a cluster this script starts (default 1)
#   KUBEMR_STORAGE_CLASS  a ReadWriteMany storage class for the shared volume; required on more
#                         than one node, where minikube's default (hostpath) splits the volume
#   KUBEMR_BOOKS          a directory of pg-*.txt texts to put on the volume instead of
#                         downloading them from gutenberg.org (no fetch Job then)
#   TIMEOUT               seconds per wait (default 900)
# Safe to re-run: every step checks or converges. The coordinator and the dashboard restart only
# when their image or their manifests changed (a running job is not killed by a re-run).
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE="${MINIKUBE_PROFILE:-minikube}"
NS=kubemr
TIMEOUT="${TIMEOUT:-900}"
STORAGE_CLASS="${KUBEMR_STORAGE_CLASS:-}"
BOOKS="${KUBEMR_BOOKS:-}"
mk() { minikube -p "$PROFILE" "$@"; }
k() { kubectl -n "$NS" "$@"; }
step() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
sha256() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi; }

# The tag names the sources the runtime image is built from, so the Deployments change (and
# restart) only when those do; kubemr:dev stays the default worker image and the streaming
# image's base.
TAG="src-$(find Dockerfile .dockerignore package.json package-lock.json tsconfig.json lib cmd apps proto bin scripts -type f |
  LC_ALL=C sort | while IFS= read -r f; do printf '%s\n' "$f"; cat "$f"; done | sha256 | cut -c1-12)"

# k8s/ as it is, plus this run's choices, as a kustomize overlay in a temporary directory beside
# k8s/ (kustomize takes relative paths only).
overlay="$(mktemp -d "$PWD/.minikube-up.XXXXXX")"
trap 'rm -rf "$overlay"' EXIT
write_overlay() {
  {
    printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../k8s\npatches:\n'
    # The coordinator and the dashboard run this build by its own tag; workers get the same image.
    printf '  - target: { kind: Deployment, name: kubemr-coordinator }\n    patch: |-\n'
    printf '      - { op: replace, path: /spec/template/spec/containers/0/image, value: "kubemr:%s" }\n' "$TAG"
    printf '      - { op: add, path: /spec/template/spec/containers/0/env/-, value: { name: KUBEMR_WORKER_IMAGE, value: "kubemr:%s" } }\n' "$TAG"
    printf '  - target: { kind: Deployment, name: kubemr-dashboard }\n    patch: |-\n'
    printf '      - { op: replace, path: /spec/template/spec/containers/0/image, value: "kubemr:%s" }\n' "$TAG"
    if [[ -n "$STORAGE_CLASS" ]]; then
      printf '  - target: { kind: PersistentVolumeClaim, name: kubemr-data }\n    patch: |-\n'
      printf '      - { op: replace, path: /spec/accessModes, value: [ReadWriteMany] }\n'
      printf '      - { op: add, path: /spec/storageClassName, value: "%s" }\n' "$STORAGE_CLASS"
    fi
    if [[ -n "$BOOKS" ]]; then
      printf '  - target: { kind: Job, name: kubemr-fetch }\n    patch: |-\n'
      # shellcheck disable=SC2016 # `$patch` is kustomize's, not the shell's
      printf '      $patch: delete\n      apiVersion: batch/v1\n      kind: Job\n      metadata: { name: kubemr-fetch }\n'
    fi
  } > "$overlay/kustomization.yaml"
}

if [[ "${1:-}" == --render ]]; then
  write_overlay
  kubectl kustomize "$overlay"
  exit 0
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--render]" >&2
  exit 2
fi

for tool in minikube kubectl; do
  command -v "$tool" >/dev/null || die "$tool is not installed (see docs/kubernetes.md)"
done
if [[ -n "$BOOKS" ]]; then
  compgen -G "$BOOKS/pg-*.txt" >/dev/null || die "KUBEMR_BOOKS=$BOOKS holds no pg-*.txt files"
fi

step "Starting minikube (profile $PROFILE)"
if mk status >/dev/null 2>&1; then
  echo "already running"
else
  mk start --cpus="${MINIKUBE_CPUS:-4}" --memory="${MINIKUBE_MEMORY:-6g}" --nodes="${MINIKUBE_NODES:-1}"
fi
kubectl config use-context "$PROFILE" >/dev/null

step "Checking the shared volume can be shared"
# Every kubemr pod mounts the same volume. minikube's default storage class (the hostpath
# provisioner) gives a ReadWriteOnce hostPath directory on one node with no node affinity: on
# more than one node, pods elsewhere would see a different, empty directory.
nodes="$(kubectl get nodes --no-headers 2>/dev/null | wc -l | tr -d ' ')"
if [[ -n "$STORAGE_CLASS" ]]; then
  provisioner="$(kubectl get storageclass "$STORAGE_CLASS" -o jsonpath='{.provisioner}' 2>/dev/null)" ||
    die "KUBEMR_STORAGE_CLASS=$STORAGE_CLASS: no such storage class (kubectl get storageclass lists them)"
  case "$provisioner" in
    k8s.io/minikube-hostpath | rancher.io/local-path | kubernetes.io/no-provisioner | hostpath.csi.k8s.io | \
      ebs.csi.aws.com | kubernetes.io/aws-ebs | pd.csi.storage.gke.io | kubernetes.io/gce-pd | disk.csi.azure.com | kubernetes.io/azure-disk)
      die "storage class $STORAGE_CLASS ($provisioner) offers ReadWriteOnce volumes only; kubemr needs a ReadWriteMany class (NFS, CephFS, EFS, Filestore, Azure Files, ...)" ;;
  esac
  echo "shared volume: storage class $STORAGE_CLASS ($provisioner), ReadWriteMany, on $nodes node(s)"
elif (( nodes > 1 )); then
  die "this cluster has $nodes nodes, and kubemr's pods share one volume: that needs a ReadWriteMany storage class. minikube's default (hostpath) is ReadWriteOnce and would give pods on different nodes different directories. Set KUBEMR_STORAGE_CLASS to a ReadWriteMany class (NFS, CephFS, ...), or use one node (MINIKUBE_NODES=1)."
else
  echo "one node: the default storage class (ReadWriteOnce) will do"
fi
if (( nodes > 1 )) || [[ -n "$STORAGE_CLASS" ]]; then
  # accessModes cannot be changed on an existing claim.
  modes="$(k get pvc kubemr-data -o jsonpath='{.spec.accessModes}' 2>/dev/null || true)"
  if [[ -n "$modes" && "$modes" != *ReadWriteMany* ]]; then
    die "the existing volume kubemr-data is $modes; it cannot become ReadWriteMany in place. Remove kubemr with scripts/minikube-down.sh (this deletes all job data) and run this again."
  fi
fi

step "Building images inside minikube"
if mk image ls 2>/dev/null | grep -q "kubemr:$TAG\$"; then
  echo "kubemr:$TAG is already built"
else
  mk image build -t kubemr:dev .
  mk image build -t "kubemr:$TAG" .
fi
# The streaming sample's worker image (python3 plus a mapper and a reducer), on kubemr:dev.
(cd examples/docker && mk image build -t kubemr-python-streaming:dev -f Dockerfile.python-streaming .)

step "Creating namespace, the token Secret and the TLS Secret"
kubectl apply -f k8s/namespace.yaml
if ! k get secret kubemr-token >/dev/null 2>&1; then
  token="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
  k create secret generic kubemr-token --from-literal=token="$token"
  unset token
else
  echo "secret/kubemr-token exists"
fi
# The coordinator serves gRPC over TLS beyond loopback: a self-signed certificate for its
# Service names (and 127.0.0.1, for kubectl port-forward); workers and the dashboard trust it.
if ! kubectl -n "$NS" get secret kubemr-tls >/dev/null 2>&1; then
  tls="$(mktemp -d)"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 -subj /CN=kubemr-coordinator \
    -addext "subjectAltName=DNS:kubemr-coordinator,DNS:kubemr-coordinator.$NS.svc,DNS:kubemr-coordinator.$NS.svc.cluster.local,IP:127.0.0.1" \
    -keyout "$tls/tls.key" -out "$tls/tls.crt" 2>/dev/null
  kubectl -n "$NS" create secret tls kubemr-tls --cert="$tls/tls.crt" --key="$tls/tls.key"
  rm -rf "$tls"
else
  echo "secret/kubemr-tls exists"
fi

step "Applying k8s/"
# A fetch Job that failed before is run again (a Job's pods cannot be restarted in place).
if [[ "$(k get job kubemr-fetch -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}' 2>/dev/null || true)" == True ]]; then
  k delete job kubemr-fetch --wait=true
fi
write_overlay
kubectl apply -k "$overlay"
kubectl wait --for=condition=Established crd/mapreducejobs.kubemr.io --timeout=60s
# No `rollout restart`: `apply` rolls a Deployment only when its pod template changed.
k rollout status deployment/kubemr-coordinator --timeout=300s
k rollout status deployment/kubemr-dashboard --timeout=300s

if [[ -n "$BOOKS" ]]; then
  step "Copying the texts in $BOOKS onto the shared volume"
  pod="$(k get pod -l app.kubernetes.io/component=coordinator --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}')"
  k exec "$pod" -c coordinator -- node -e 'require("fs").mkdirSync("/data/inputs/gutenberg", { recursive: true })'
  for f in "$BOOKS"/pg-*.txt; do
    k cp "$f" "$pod:/data/inputs/gutenberg/$(basename "$f")" -c coordinator
    echo "  $(basename "$f")"
  done
else
  step "Waiting for the fetch Job (downloads the Gutenberg texts into the shared volume)"
  # It fails at its first failed pod (backoffLimit 0; the download retries by itself), and then
  # this script stops at once with its log instead of waiting out the timeout.
  deadline=$((SECONDS + TIMEOUT))
  while :; do
    conditions="$(k get job kubemr-fetch -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type} {end}')"
    case " $conditions " in
      *" Complete "*) echo "fetched"; break ;;
      *" Failed "*)
        k logs job/kubemr-fetch --tail=15 >&2 2>/dev/null || true
        die "the fetch Job failed ($(k get job kubemr-fetch -o jsonpath='{.status.conditions[?(@.type=="Failed")].message}')). Without access to gutenberg.org, run again with KUBEMR_BOOKS=<a directory of pg-*.txt texts> to copy texts from this machine instead." ;;
    esac
    if (( SECONDS > deadline )); then
      k get pods -l app.kubernetes.io/component=fetch >&2 || true
      die "the fetch Job is not done after ${TIMEOUT}s"
    fi
    sleep 3
  done
fi

step "Running the wordcount sample"
kubectl apply -f k8s/samples/wordcount.yaml
deadline=$((SECONDS + TIMEOUT))
while :; do
  phase="$(k get mapreducejob wordcount -o jsonpath='{.status.phase}' 2>/dev/null || true)"
  progress="$(k get mapreducejob wordcount -o jsonpath='{.status.progress}' 2>/dev/null || true)"
  printf '  phase=%s %s\n' "${phase:-<none>}" "$progress"
  case "$phase" in
    Succeeded) break ;;
    Failed | Cancelled)
      k get mapreducejob wordcount -o jsonpath='{.status.message}{"\n"}' >&2
      die "the wordcount job ended $phase; see: kubectl -n $NS logs deploy/kubemr-coordinator" ;;
  esac
  if (( SECONDS > deadline )); then die "wordcount not done after ${TIMEOUT}s"; fi
  sleep 5
done
k get mapreducejobs

step "Dashboard"
# A port-forward runs in the foreground until Ctrl-C; nothing is left open behind your back.
cat <<EOF
Run:   kubectl -n $NS port-forward svc/kubemr-dashboard 8081:8081
Open:  http://localhost:8081/
To submit or cancel from the browser, open it once with ?token=<token>, the token being
       kubectl -n $NS get secret kubemr-token -o jsonpath='{.data.token}' | base64 -d
The streaming sample (image kubemr-python-streaming:dev is built): kubectl apply -f k8s/samples/streaming-wordcount.yaml
EOF

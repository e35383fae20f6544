#!/usr/bin/env bash
# Create the kind cluster "trader" with everything the platform needs, then stop: the apps are
# deployed by `tilt up` (live update) or by `kind-cluster/build-images.sh && kubectl apply -k knative`.
#
#   1. a local image registry (container kind-registry on 127.0.0.1:5001), as in kind's docs;
#   2. the kind cluster (kind-config.yaml), its nodes told where the registry is;
#   3. Knative Serving with Kourier (NodePorts 31080/31443 → host 127.0.0.1:8080/8443);
#   4. Knative Eventing (core, in-memory channel, multi-tenant channel broker);
#   5. Dapr (Helm chart, the release of dapr/runtime/go.mod);
#   6. the trader namespace, its Secrets, and Redis, NATS (with streams), PostgreSQL
#      (kind-cluster/infra), plus Kafka with PUBSUB=kafka (kind-cluster/infra-kafka).
#
# Re-running it is safe: every step skips what is already there.
# Settings (environment): CLUSTER_NAME (trader), KIND_NODE_IMAGE (kind's default node image),
# PUBSUB (nats|kafka|redis, default nats), ANTHROPIC_API_KEY (optional, for ai-decision's Claude).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/.." && pwd)"

CLUSTER_NAME="${CLUSTER_NAME:-trader}"
NAMESPACE="trader"
REGISTRY_NAME="kind-registry"
REGISTRY_PORT="5001"
PUBSUB="${PUBSUB:-nats}"

# Pinned releases. Dapr matches dapr/runtime/go.mod (the daprd that `make run` builds).
KNATIVE_SERVING_VERSION="knative-v1.21.0"
KNATIVE_KOURIER_VERSION="knative-v1.21.0"
KNATIVE_EVENTING_VERSION="knative-v1.21.0"
DAPR_VERSION="1.18.2"
DAPR_HELM_REPO="https://dapr.github.io/helm-charts/"

SERVING_URL="https://github.com/knative/serving/releases/download/${KNATIVE_SERVING_VERSION}"
KOURIER_URL="https://github.com/knative/net-kourier/releases/download/${KNATIVE_KOURIER_VERSION}"
EVENTING_URL="https://github.com/knative/eventing/releases/download/${KNATIVE_EVENTING_VERSION}"

say() { printf '\033[1m… %s\033[0m\n' "$*"; }
ok() { printf '\033[32m✓ %s\033[0m\n' "$*"; }
die() { printf '\033[31m✗ %s\033[0m\n' "$*" >&2; exit 1; }

check_prerequisites() {
  local missing=()
  for tool in docker kind kubectl helm; do
    command -v "${tool}" >/dev/null 2>&1 || missing+=("${tool}")
  done
  if ((${#missing[@]})); then
    die "missing: ${missing[*]}. Install them first (Docker: https://docs.docker.com/engine/install/, \
kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation, \
kubectl: https://kubernetes.io/docs/tasks/tools/, helm: https://helm.sh/docs/intro/install/)."
  fi
  docker info >/dev/null 2>&1 \
    || die "Docker is installed but its daemon does not answer (is it running, may this user use it?)."
  case "${PUBSUB}" in
    nats | kafka | redis) ;;
    *) die "PUBSUB=${PUBSUB}: use nats, kafka or redis." ;;
  esac
  command -v tilt >/dev/null 2>&1 \
    || echo "  (tilt is not installed: needed for \`tilt up\`, not for this script — https://docs.tilt.dev/install.html)"
  ok "prerequisites: docker, kind, kubectl, helm"
}

start_registry() {
  if [ "$(docker inspect -f '{{.State.Running}}' "${REGISTRY_NAME}" 2>/dev/null || true)" != "true" ]; then
    say "starting the local registry ${REGISTRY_NAME} on 127.0.0.1:${REGISTRY_PORT}"
    docker rm -f "${REGISTRY_NAME}" >/dev/null 2>&1 || true
    docker run -d --restart=always -p "127.0.0.1:${REGISTRY_PORT}:5000" --network bridge \
      --name "${REGISTRY_NAME}" registry:2 >/dev/null
  fi
  ok "registry localhost:${REGISTRY_PORT}"
}

create_cluster() {
  if kind get clusters 2>/dev/null | grep -qx "${CLUSTER_NAME}"; then
    ok "kind cluster ${CLUSTER_NAME} exists"
  else
    say "creating the kind cluster ${CLUSTER_NAME}"
    local image_args=()
    if [ -n "${KIND_NODE_IMAGE:-}" ]; then image_args=(--image "${KIND_NODE_IMAGE}"); fi
    kind create cluster --name "${CLUSTER_NAME}" --config "${HERE}/kind-config.yaml" \
      "${image_args[@]}" --wait 120s
  fi
  kubectl config use-context "kind-${CLUSTER_NAME}" >/dev/null

  # Nodes resolve localhost:5001 to the registry container (kind's local-registry recipe).
  local dir="/etc/containerd/certs.d/localhost:${REGISTRY_PORT}"
  for node in $(kind get nodes --name "${CLUSTER_NAME}"); do
    docker exec "${node}" mkdir -p "${dir}"
    printf '[host."http://%s:5000"]\n' "${REGISTRY_NAME}" \
      | docker exec -i "${node}" cp /dev/stdin "${dir}/hosts.toml"
  done
  if [ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "${REGISTRY_NAME}")" = "null" ]; then
    docker network connect kind "${REGISTRY_NAME}"
  fi
  # Documents the registry for tools (Tilt finds it here).
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:${REGISTRY_PORT}"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
YAML
  ok "cluster ${CLUSTER_NAME} (context kind-${CLUSTER_NAME}) uses the registry"
}

wait_deployments() { # namespace
  kubectl wait deployment --all -n "$1" --for=condition=Available --timeout=600s >/dev/null
}

install_knative_serving() {
  say "Knative Serving ${KNATIVE_SERVING_VERSION} with Kourier ${KNATIVE_KOURIER_VERSION}"
  kubectl apply -f "${SERVING_URL}/serving-crds.yaml" >/dev/null
  kubectl wait --for=condition=Established --all crd --timeout=120s >/dev/null
  kubectl apply -f "${SERVING_URL}/serving-core.yaml" >/dev/null
  kubectl apply -f "${KOURIER_URL}/kourier.yaml" >/dev/null
  kubectl patch configmap/config-network -n knative-serving --type merge \
    -p '{"data":{"ingress-class":"kourier.ingress.networking.knative.dev"}}' >/dev/null
  # Kourier on fixed NodePorts, which kind-config.yaml maps to the host.
  kubectl patch service/kourier -n kourier-system --type merge -p '{"spec":{"type":"NodePort","ports":[
    {"name":"http2","port":80,"protocol":"TCP","targetPort":8080,"nodePort":31080},
    {"name":"https","port":443,"protocol":"TCP","targetPort":8443,"nodePort":31443}]}}' >/dev/null
  # Route names under 127.0.0.1.sslip.io, which resolves to 127.0.0.1.
  kubectl patch configmap/config-domain -n knative-serving --type merge \
    -p '{"data":{"127.0.0.1.sslip.io":""}}' >/dev/null
  # Knative resolves image tags to digests from inside the cluster, where localhost:5001 is not
  # the registry: skip it for the local registry (the node's containerd knows where it is).
  kubectl patch configmap/config-deployment -n knative-serving --type merge \
    -p "{\"data\":{\"registries-skipping-tag-resolving\":\"kind.local,ko.local,dev.local,localhost:${REGISTRY_PORT}\"}}" >/dev/null
  wait_deployments knative-serving
  wait_deployments kourier-system
  ok "Knative Serving"
}

install_knative_eventing() {
  say "Knative Eventing ${KNATIVE_EVENTING_VERSION}"
  kubectl apply -f "${EVENTING_URL}/eventing-crds.yaml" >/dev/null
  kubectl wait --for=condition=Established --all crd --timeout=120s >/dev/null
  kubectl apply -f "${EVENTING_URL}/eventing-core.yaml" >/dev/null
  kubectl apply -f "${EVENTING_URL}/in-memory-channel.yaml" >/dev/null
  kubectl apply -f "${EVENTING_URL}/mt-channel-broker.yaml" >/dev/null
  wait_deployments knative-eventing
  ok "Knative Eventing (in-memory channel, MT channel broker)"
}

install_dapr() {
  say "Dapr ${DAPR_VERSION}"
  helm repo add dapr "${DAPR_HELM_REPO}" --force-update >/dev/null
  helm repo update dapr >/dev/null
  helm upgrade --install dapr dapr/dapr --version "${DAPR_VERSION}" \
    --namespace dapr-system --create-namespace --wait --timeout 10m >/dev/null
  ok "Dapr ${DAPR_VERSION} (operator, injector, sentry, placement, scheduler)"
}

create_secrets() {
  kubectl apply -f "${ROOT}/kind-cluster/infra/namespace.yaml" >/dev/null
  # PostgreSQL: a random password, made once and kept (the database keeps it too).
  if ! kubectl get secret trader-postgres -n "${NAMESPACE}" >/dev/null 2>&1; then
    local password
    password="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    kubectl create secret generic trader-postgres -n "${NAMESPACE}" \
      --from-literal=password="${password}" \
      --from-literal=dsn="host=postgres.${NAMESPACE}.svc.cluster.local port=5432 user=trader password=${password} dbname=trader sslmode=disable" \
      >/dev/null
  fi
  # Connector keys for the secretstore component: .local/secrets.json if `make run` made one,
  # else the template (empty keys = the offline defaults). Refreshed on every run.
  local secrets_file="${ROOT}/.local/secrets.json"
  [ -f "${secrets_file}" ] || secrets_file="${ROOT}/components/secrets/secrets.template.json"
  kubectl create secret generic trader-secrets -n "${NAMESPACE}" \
    --from-file=secrets.json="${secrets_file}" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  if [ -n "${ANTHROPIC_API_KEY:-}" ]; then
    kubectl create secret generic trader-anthropic -n "${NAMESPACE}" \
      --from-literal=api-key="${ANTHROPIC_API_KEY}" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  fi
  ok "secrets trader-postgres, trader-secrets (from ${secrets_file#"${ROOT}"/})"
}

install_infra() {
  say "Redis, NATS (JetStream), PostgreSQL in namespace ${NAMESPACE}"
  kubectl apply -k "${ROOT}/kind-cluster/infra" >/dev/null
  if [ "${PUBSUB}" = "kafka" ]; then
    kubectl apply -k "${ROOT}/kind-cluster/infra-kafka" >/dev/null
  fi
  for server in redis nats postgres; do
    kubectl rollout status "statefulset/${server}" -n "${NAMESPACE}" --timeout=300s >/dev/null
  done
  if [ "${PUBSUB}" = "kafka" ]; then
    kubectl rollout status statefulset/kafka -n "${NAMESPACE}" --timeout=300s >/dev/null
  fi
  kubectl wait job/nats-streams -n "${NAMESPACE}" --for=condition=Complete --timeout=300s >/dev/null \
    || die "the nats-streams Job did not complete: kubectl logs -n ${NAMESPACE} job/nats-streams"
  ok "infrastructure ready"
}

main() {
  check_prerequisites
  start_registry
  create_cluster
  install_knative_serving
  install_knative_eventing
  install_dapr
  create_secrets
  install_infra
  cat <<TEXT

Cluster ${CLUSTER_NAME} is ready. Next:
  tilt up                                            # build, deploy, live-update the six apps
or, without Tilt:
  kind-cluster/build-images.sh && kubectl apply -k knative
Then: curl http://api-gateway.${NAMESPACE}.127.0.0.1.sslip.io:8080/healthz   (see docs/kubernetes.md)
TEXT
}

main "$@"

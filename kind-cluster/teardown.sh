#!/usr/bin/env bash
# Delete the kind cluster made by setup.sh (and everything in it, data included). The local
# registry container stays, with its images, unless --registry is given.
#   kind-cluster/teardown.sh [--registry]
set -euo pipefail

CLUSTER_NAME="${CLUSTER_NAME:-trader}"
REGISTRY_NAME="kind-registry"
REMOVE_REGISTRY=false

for arg in "$@"; do
  case "${arg}" in
    --registry) REMOVE_REGISTRY=true ;;
    -h | --help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "unknown argument ${arg} (use --registry)" >&2; exit 2 ;;
  esac
done

for tool in kind docker; do
  command -v "${tool}" >/dev/null 2>&1 || { echo "✗ ${tool} is not installed: nothing to tear down with it" >&2; exit 1; }
done

if kind get clusters 2>/dev/null | grep -qx "${CLUSTER_NAME}"; then
  kind delete cluster --name "${CLUSTER_NAME}"
  echo "✓ deleted kind cluster ${CLUSTER_NAME}"
else
  echo "✓ no kind cluster ${CLUSTER_NAME}"
fi

if [ "${REMOVE_REGISTRY}" = true ]; then
  docker rm -f "${REGISTRY_NAME}" >/dev/null 2>&1 || true
  echo "✓ removed registry container ${REGISTRY_NAME}"
fi

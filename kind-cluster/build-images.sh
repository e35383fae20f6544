#!/usr/bin/env bash
# Build every app's image from deploy/Dockerfile and push it to the kind registry as
# localhost:5001/trader/<app>:dev, the names knative/kustomization.yaml deploys. Not needed with
# Tilt, which builds and pushes its own. Usage: kind-cluster/build-images.sh [app…]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/.." && pwd)"
REGISTRY="${REGISTRY:-localhost:5001}"
TAG="${TAG:-dev}"
ALL_APPS=(market-data ai-decision trading-engine orchestrator analytics api-gateway)

command -v docker >/dev/null 2>&1 || { echo "✗ docker is not installed (https://docs.docker.com/engine/install/)" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "✗ the Docker daemon does not answer" >&2; exit 1; }

apps=("$@")
if ((${#apps[@]} == 0)); then apps=("${ALL_APPS[@]}"); fi

for app in "${apps[@]}"; do
  [ -d "${ROOT}/apps/${app}" ] || { echo "✗ no app ${app} under apps/" >&2; exit 1; }
  module="${app//-/_}"
  image="${REGISTRY}/trader/${app}:${TAG}"
  echo "… ${image}"
  DOCKER_BUILDKIT=1 docker build -f "${ROOT}/deploy/Dockerfile" \
    --build-arg APP="${app}" --build-arg MODULE="${module}" -t "${image}" "${ROOT}"
  docker push "${image}"
  if [ "${app}" = "orchestrator" ]; then
    # The market-hours CronJobs run a script with the orchestrator's code and dependencies.
    docker tag "${image}" "${REGISTRY}/trader/market-hours:${TAG}"
    docker push "${REGISTRY}/trader/market-hours:${TAG}"
  fi
done
echo "✓ pushed ${apps[*]} to ${REGISTRY} (tag ${TAG})"

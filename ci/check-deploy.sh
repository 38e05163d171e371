#!/usr/bin/env bash
# Static checks of deploy/ (the Dockerfile and the Helm chart) with real tools
# from PyPI and Debian: ci/check_deploy.py lists them. No Docker engine or
# Kubernetes cluster is used. Exits 77 (skipped), saying why, when the tools'
# virtual environment (build/venv-deploy, made by ci/install-deps.sh) is
# missing. Arguments go to ci/check_deploy.py (--libs-of BIN, --serve BIN).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${DEPLOY_VENV:-build/venv-deploy}
if [ ! -x "$VENV/bin/python" ] || [ ! -x "$VENV/bin/hadolint" ] ||
   ! "$VENV/bin/python" -c 'import helm_python, kubernetes_validate, yamllint, yaml' 2>/dev/null; then
  echo "SKIPPED: no $VENV with deploy/requirements.txt (ci/install-deps.sh makes it)"
  exit 77
fi
PATH="$VENV/bin:$PATH" exec "$VENV/bin/python" ci/check_deploy.py "$@"

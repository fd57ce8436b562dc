"""What every Charon component shares: the image it runs in on Kubeflow."""

import os

BASE_IMAGE = os.environ.get("CHARON_COMPONENT_IMAGE", "ghcr.io/charon-ml/charon:latest")

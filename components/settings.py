"""What Charon's components share when compiled: the image they run in on Kubeflow, and the secret
that gives warehouse-reading steps their database URL there."""

from kfp import kubernetes
from kfp.dsl import PipelineTask

from bot.settings import Settings

_SETTINGS = Settings()
BASE_IMAGE = _SETTINGS.component_image


def with_warehouse(task: PipelineTask) -> PipelineTask:
    """On Kubeflow, the step reads ``CHARON_WAREHOUSE_URL`` from ``CHARON_WAREHOUSE_SECRET``'s ``url``."""
    if _SETTINGS.warehouse_secret:
        kubernetes.use_secret_as_env(
            task, secret_name=_SETTINGS.warehouse_secret, secret_key_to_env={"url": "CHARON_WAREHOUSE_URL"}
        )
    return task

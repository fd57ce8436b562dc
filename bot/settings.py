"""Every setting Charon reads, in one pydantic-settings model (the README's table is generated from it)."""

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read from the environment (and a ``.env`` file in the working directory, if present)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Core
    database_url: SecretStr | None = Field(
        None, validation_alias="DATABASE_URL",
        description="PostgreSQL URL of Charon's run store. Unset: an embedded server under the data dir.",
    )  # fmt: skip
    data_dir: Path = Field(
        Path("~/.charon"), validation_alias="CHARON_DATA_DIR",
        description="Where local runs, their logs and the embedded database live.",
    )  # fmt: skip
    http_host: str = Field("127.0.0.1", validation_alias="CHARON_HTTP_HOST",
                           description="Address the HTTP server listens on.")  # fmt: skip
    http_port: int = Field(9991, validation_alias="CHARON_HTTP_PORT",
                           description="Port of the HTTP server (health, run pages, API, Slack events).")  # fmt: skip
    public_url: str | None = Field(
        None, validation_alias="CHARON_PUBLIC_URL",
        description="Base URL people reach the HTTP server at; run links of local runs start with it. "
        "Unset: http://HOST:PORT.",
    )  # fmt: skip
    poll_interval: float = Field(15.0, gt=0, validation_alias="CHARON_POLL_INTERVAL",
                                 description="Seconds between status polls of KFP runs.")  # fmt: skip
    local_poll_interval: float = Field(1.0, gt=0, validation_alias="CHARON_LOCAL_POLL_INTERVAL",
                                       description="Seconds between status checks of local runs.")  # fmt: skip
    max_local_runs: int = Field(2, ge=1, validation_alias="CHARON_MAX_LOCAL_RUNS",
                                description="Local runs executing at once; more wait in a queue.")  # fmt: skip
    max_date_age_days: int = Field(270, ge=1, validation_alias="CHARON_MAX_DATE_AGE_DAYS",
                                   description="Dates older than this many days are refused.")  # fmt: skip
    warehouse_url: SecretStr | None = Field(
        None, validation_alias="CHARON_WAREHOUSE_URL",
        description="PostgreSQL URL of the calls warehouse. Unset: the demo warehouse in Charon's database.",
    )  # fmt: skip
    audio_base_url: str = Field("https://recordings.example.com/",
                                validation_alias="CHARON_AUDIO_BASE_URL",
                                description="Prefix of turn audio URLs in fetched call CSVs.")  # fmt: skip
    audio_bucket: str | None = Field(None, validation_alias="CHARON_AUDIO_BUCKET",
                                     description="S3 bucket of turn audio, for use_fsm_url=true (presigned links).")  # fmt: skip

    component_image: str = Field(
        "ghcr.io/charon-ml/charon:latest", validation_alias="CHARON_COMPONENT_IMAGE",
        description="Image Charon's pipeline steps run in on Kubeflow (build it from the Dockerfile); read when "
        "pipelines are compiled.",
    )  # fmt: skip
    warehouse_secret: str | None = Field(
        None, validation_alias="CHARON_WAREHOUSE_SECRET",
        description="Kubernetes Secret (key `url`) whose value steps reading the calls warehouse get as "
        "CHARON_WAREHOUSE_URL on Kubeflow. Unset: they get none (local runs are given it directly).",
    )  # fmt: skip

    # Kubeflow Pipelines
    kfp_host: str | None = Field(None, validation_alias="KFP_HOST",
                                 description="KFP API server URL. Unset: runs execute locally (kfp.local).")  # fmt: skip
    kfp_namespace: str = Field("kubeflow", validation_alias="KFP_NAMESPACE",
                               description="Kubeflow namespace (profile) runs are created in.")  # fmt: skip
    kfp_ui_url: str | None = Field(None, validation_alias="KFP_UI_URL",
                                   description="KFP UI base URL for run links. Unset: KFP_HOST.")  # fmt: skip
    kfp_ui_multi_user: bool = Field(
        False, validation_alias="KFP_UI_MULTI_USER",
        description="Build run links in the central dashboard form (/_/pipeline/?ns=NAMESPACE#/runs/details/ID).",
    )  # fmt: skip
    kfp_existing_token: SecretStr | None = Field(None, validation_alias="KFP_EXISTING_TOKEN",
                                                 description="Bearer token for the KFP API.")  # fmt: skip
    kfp_sa_token_path: Path | None = Field(
        None, validation_alias="KFP_SA_TOKEN_PATH",
        description="Projected service-account token file (re-read when it rotates), e.g. "
        "/var/run/secrets/kubeflow/pipelines/token.",
    )  # fmt: skip
    kfp_cookies: SecretStr | None = Field(None, validation_alias="KFP_COOKIES",
                                          description="Raw Cookie header for KFP behind an auth proxy.")  # fmt: skip
    kfp_experiment: str = Field("Default", validation_alias="KFP_EXPERIMENT",
                                description="KFP experiment runs are filed under.")  # fmt: skip
    kfp_request_timeout: float = Field(30.0, gt=0, validation_alias="KFP_REQUEST_TIMEOUT",
                                       description="Seconds before a KFP API request is abandoned.")  # fmt: skip
    kfp_max_workers: int = Field(4, ge=1, validation_alias="KFP_MAX_WORKERS",
                                 description="Threads for KFP client calls (the client is synchronous).")  # fmt: skip
    kfp_pipeline_root: str | None = Field(
        None, validation_alias="KFP_PIPELINE_ROOT",
        description="Where KFP runs write artifacts (s3://bucket/prefix or minio://…). Set: each finished run's "
        "outputs are listed there and linked. Unset: the cluster's default root; outputs are not listed.",
    )  # fmt: skip

    # Slack
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN",
                                              description="Bot token (xoxb-…).")  # fmt: skip
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN",
                                              description="App-level token (xapp-…) for Socket Mode.")  # fmt: skip
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias="SLACK_SIGNING_SECRET",
        description="Signing secret; with no app token, Slack events arrive over HTTP at /slack/events.",
    )  # fmt: skip
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL",
                               description="Slack Web API base URL (all calls go through it).")  # fmt: skip
    slash_command: str = Field("/charon", validation_alias="CHARON_SLASH_COMMAND",
                               description="Name of the slash command.")  # fmt: skip
    policy_file: Path | None = Field(None, validation_alias="CHARON_POLICY_FILE",
                                     description="Permissions policy (YAML). Unset: everyone may run everything.")  # fmt: skip

    # HTTP API, webhooks, outputs
    api_tokens: SecretStr | None = Field(None, validation_alias="CHARON_API_TOKENS",
                                         description="Comma-separated bearer tokens accepted by the HTTP API.")  # fmt: skip
    webhook_secret: SecretStr | None = Field(
        None, validation_alias="CHARON_WEBHOOK_SECRET",
        description="Signs webhook bodies (HMAC-SHA256 in X-Charon-Signature).",
    )  # fmt: skip
    s3_endpoint_url: str | None = Field(None, validation_alias="CHARON_S3_ENDPOINT_URL",
                                        description="S3 endpoint for presigned output links. Unset: AWS.")  # fmt: skip
    presign_expiry_s: int = Field(7 * 24 * 3600, ge=60, validation_alias="CHARON_PRESIGN_EXPIRY",
                                  description="Lifetime in seconds of presigned output links.")  # fmt: skip

    @cached_property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    def run_page_url(self, run_id: str) -> str:
        return f"{self.base_url}/runs/{run_id}"

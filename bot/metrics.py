"""Prometheus metrics Charon exports at ``GET /metrics`` (prometheus-client's default registry).

Each metric is observed where the thing happens; ``charon_runs`` is counted from the store when scraped.
"""

from prometheus_client import Counter, Gauge, Histogram

RUNS = Gauge("charon_runs", "Runs in the store, by backend and state.", ["backend", "state"])

POLL_SECONDS = Histogram(
    "charon_poll_seconds", "Time to poll every tracked run of one backend once.", ["backend"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)  # fmt: skip

KFP_REQUESTS = Counter(
    "charon_kfp_requests_total", "Requests to the KFP API server, by endpoint and outcome.",
    ["method", "endpoint", "status"],
)  # fmt: skip
"""``status`` is the HTTP status, or ``timeout`` / ``unreachable`` when no answer came."""

KFP_ERRORS = Counter(
    "charon_kfp_request_errors_total", "KFP requests that failed (non-2xx, timeout, unreachable).",
    ["endpoint", "kind"],
)  # fmt: skip

SLACK_ACK_SECONDS = Histogram(
    "charon_slack_ack_seconds", "Time from receiving a Slack request to acknowledging it.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5),
)  # fmt: skip

WEBHOOK_ATTEMPTS = Counter("charon_webhook_attempts_total", "Webhook POSTs, by outcome.", ["outcome"])

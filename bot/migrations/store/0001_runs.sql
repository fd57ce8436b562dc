-- Runs, their state history, and the audit log of every command.
CREATE TABLE runs (
    id               text PRIMARY KEY,
    pipeline         text NOT NULL,
    params           jsonb NOT NULL,
    backend          text NOT NULL,
    external_id      text,
    state            text NOT NULL,
    run_url          text,
    outputs          jsonb NOT NULL DEFAULT '[]',
    tasks            jsonb NOT NULL DEFAULT '[]',
    error            jsonb,
    surface          text NOT NULL,
    requested_by     text,
    reply_to         jsonb NOT NULL DEFAULT '{}',
    idempotency_key  text UNIQUE,
    retry_of         text REFERENCES runs (id),
    schedule_id      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    notify_claimed_at timestamptz,
    notified_at      timestamptz
);
CREATE INDEX runs_active ON runs (backend) WHERE finished_at IS NULL;
CREATE INDEX runs_unnotified ON runs (finished_at) WHERE finished_at IS NOT NULL AND notified_at IS NULL;
CREATE INDEX runs_external ON runs (backend, external_id);
CREATE INDEX runs_created ON runs (created_at DESC);

CREATE TABLE run_events (
    id      bigserial PRIMARY KEY,
    run_id  text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    state   text NOT NULL,
    detail  jsonb,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX run_events_run ON run_events (run_id, id);

CREATE TABLE audit_log (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    surface   text NOT NULL,
    user_id   text,
    channel   text,
    text      text NOT NULL,
    command   text,
    outcome   text NOT NULL,
    run_id    text,
    detail    jsonb
);
CREATE INDEX audit_log_at ON audit_log (at DESC);

-- One row per (run, notifier) once that notifier has delivered the run's final notice, so a retry
-- after a partial failure or a restart repeats nothing that was already delivered.
CREATE TABLE run_notices (
    run_id       text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    notifier     text NOT NULL,
    delivered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, notifier)
);

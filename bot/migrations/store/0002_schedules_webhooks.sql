-- Schedules (KFP recurring runs, or fired by Charon's own scheduler) and webhook deliveries.
CREATE TABLE schedules (
    id            text PRIMARY KEY,
    pipeline      text NOT NULL,
    params        jsonb NOT NULL,              -- as given; validated again at every firing Charon makes
    cron          text NOT NULL,               -- six fields, seconds first (KFP's form)
    backend       text NOT NULL,               -- 'kfp': a native recurring run; 'local': fired by Charon
    external_id   text,                        -- the KFP recurring_run_id
    enabled       boolean NOT NULL DEFAULT true,
    surface       text NOT NULL,
    requested_by  text,
    reply_to      jsonb NOT NULL DEFAULT '{}', -- where firings are reported
    next_fire_at  timestamptz,                 -- local: the next firing, claimed by one process
    seen_until    timestamptz,                 -- kfp: creation time of the newest firing adopted
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE enabled AND backend = 'local';

-- One row per webhook notice (an outbox): retried with back-off until delivered or given up.
CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    run_id          text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    notice          text NOT NULL UNIQUE,      -- run id + finish time: one delivery per notice
    url             text NOT NULL,
    body            text NOT NULL,             -- the exact bytes signed and sent
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     integer,
    last_error      text,
    delivered_at    timestamptz,
    abandoned_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;

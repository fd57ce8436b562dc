-- The calls warehouse read by fetch_calls_pipeline: one row per call, one per conversation turn.
-- A production warehouse has these two tables (or views with these columns); `charon demo`
-- creates them in Charon's own database and fills them with synthetic calls.
CREATE TABLE calls (
    id                   bigint PRIMARY KEY,
    uuid                 uuid NOT NULL UNIQUE,
    client_id            integer NOT NULL,
    client_uuid          uuid NOT NULL,
    template_id          text NOT NULL DEFAULT '',
    flow_id              integer NOT NULL,
    flow_uuid            uuid NOT NULL,
    flow_name            text NOT NULL,
    flow_version         text NOT NULL DEFAULT '',
    use_case             text NOT NULL DEFAULT '',
    language             text NOT NULL,
    call_type            text NOT NULL CHECK (call_type IN ('INBOUND', 'OUTBOUND', 'CALL_TEST')),
    caller_number        text NOT NULL,
    virtual_number       text NOT NULL,
    reported             boolean NOT NULL DEFAULT false,
    started_at           timestamptz NOT NULL,
    duration_s           real NOT NULL,
    call_url             text,
    call_end_status      text NOT NULL DEFAULT '',
    disposition          text NOT NULL DEFAULT '',
    previous_disposition text NOT NULL DEFAULT '',
    blocking_disposition text NOT NULL DEFAULT ''
);
CREATE INDEX calls_window ON calls (language, started_at);

CREATE TABLE turns (
    id                bigint PRIMARY KEY,
    call_id           bigint NOT NULL REFERENCES calls (id),
    conversation_id   bigint NOT NULL,
    conversation_uuid uuid NOT NULL,
    turn_type         text NOT NULL CHECK (turn_type IN ('INPUT', 'AUDIO', 'OUTPUT')),
    reftime           timestamptz NOT NULL,
    state             text NOT NULL,
    utterances        jsonb,
    context           jsonb,
    intents_info      jsonb,
    prediction        jsonb,
    intent            text,
    intent_score      real,
    slots             jsonb,
    entities          jsonb,
    audio_path        text,
    asr_provider      text NOT NULL DEFAULT '',
    asr_latency       real,
    slu_latency       real
);
CREATE INDEX turns_call ON turns (call_id);

"""Sampling exactly N calls from the calls warehouse into a turn-level CSV (``fetch_calls``'s work).

The warehouse is PostgreSQL with the ``calls`` and ``turns`` tables described in the README
(``bot/migrations/warehouse``). Every filter is a bound parameter; the date window is computed in
the requested time zone with zoneinfo and compared as absolute instants.
"""

import asyncio
import csv
import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

CSV_COLUMNS = (
    "call_id", "call_uuid", "conversation_id", "conversation_uuid", "audio_url", "reftime",
    "readable_reftime", "state", "utterances", "format_utterances", "primary_utterance", "context",
    "bot_response", "intents_info", "prediction", "intent", "intent_score", "slots", "entities",
    "call_url", "call_type", "language", "asr_provider", "call_end_status", "disposition",
    "previous_disposition", "blocking_disposition", "virtual_number", "flow_version", "flow_id",
    "flow_name", "flow_uuid", "template_id", "client_uuid", "asr_latency", "slu_latency", "call_duration",
)  # fmt: skip

_TURN_FILTER = """t.turn_type IN ('INPUT', 'AUDIO')
    AND ($13::text[] IS NULL OR t.state = ANY($13))
    AND ($14::text[] IS NULL OR t.intent = ANY($14))
    AND ($15::text = '' OR t.asr_provider = $15)
    AND (NOT $16::bool OR t.audio_path IS NOT NULL)"""

SAMPLE_SQL = f"""
WITH sampled AS (
  SELECT c.id FROM calls c
  WHERE c.language = $1 AND c.started_at >= $2 AND c.started_at <= $3
    AND c.call_type = ANY($4::text[])
    AND ($5::int[] IS NULL OR c.client_id = ANY($5))
    AND ($6::text = '' OR c.template_id = $6)
    AND ($7::text = '' OR c.use_case = $7)
    AND ($8::text = '' OR c.flow_name = $8)
    AND ($9::int[] IS NULL OR c.flow_id = ANY($9))
    AND NOT (c.caller_number = ANY($10::text[]))
    AND (NOT $11::bool OR c.reported)
    AND ($12::real IS NULL OR c.duration_s >= $12)
    AND EXISTS (SELECT 1 FROM turns t WHERE t.call_id = c.id AND {_TURN_FILTER})
  ORDER BY random() LIMIT $17
)
SELECT t.*, c.uuid AS call_uuid, c.call_url, c.call_type, c.language, c.call_end_status, c.disposition,
       c.previous_disposition, c.blocking_disposition, c.virtual_number, c.flow_version, c.flow_id,
       c.flow_name, c.flow_uuid, c.template_id, c.client_uuid, c.duration_s
FROM turns t JOIN calls c ON c.id = t.call_id
WHERE t.call_id IN (SELECT id FROM sampled) AND {_TURN_FILTER}
ORDER BY t.call_id, t.reftime, t.id
"""


def _csv(value: str) -> list[str] | None:
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def window(start_date: str, end_date: str, zone: ZoneInfo, today: date) -> tuple[datetime, datetime]:
    """First and last instant of the requested days in ``zone`` (empty dates mean today)."""
    first = date.fromisoformat(start_date) if start_date else today
    last = date.fromisoformat(end_date) if end_date else today
    if first > last:
        raise ValueError(f"start_date {first} is after end_date {last}")
    start = datetime.combine(first, time.min, zone)
    end = datetime.combine(last + timedelta(days=1), time.min, zone) - timedelta(microseconds=1)
    return start, end


async def sample_calls(warehouse_url: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn rows of exactly ``call_quantity`` random calls (fewer only if fewer match)."""
    import asyncpg

    from bot.database import register_json_codecs

    zone = ZoneInfo(filters["timezone"])
    start, end = window(filters["start_date"], filters["end_date"], zone, datetime.now(zone).date())
    clients = _csv(filters["client_id"])
    flows = _csv(filters["flow_ids"])
    args = (
        filters["lang"], start, end,
        _csv(filters["call_type"]) or ["INBOUND", "OUTBOUND"],
        [int(c) for c in clients] if clients else None,
        filters["template_id"], filters["use_case"], filters["flow_name"],
        [int(f) for f in flows] if flows else None,
        _csv(filters["ignore_callers"]) or [],
        filters["reported"],
        float(filters["min_duration"]) if filters["min_duration"] else None,
        _csv(filters["states"]), _csv(filters["intents"]), filters["asr_provider"],
        filters["remove_empty_audios"], filters["call_quantity"],
    )  # fmt: skip
    conn = await asyncpg.connect(warehouse_url)
    try:
        await register_json_codecs(conn)
        return [dict(r) for r in await conn.fetch(SAMPLE_SQL, *args)]
    finally:
        await conn.close()


def turn_row(row: dict[str, Any], zone: ZoneInfo, audio_url: str | None, call_url: str) -> dict[str, Any]:
    """One CSV row in the seed's column order and formats (JSON-encoded lists and dicts)."""
    utterances = row["utterances"] or []
    first = utterances[0] if utterances else []
    reftime = row["reftime"].astimezone(zone)
    context = row["context"] or {}
    return {
        "call_id": row["call_id"], "call_uuid": str(row["call_uuid"]),
        "conversation_id": row["conversation_id"], "conversation_uuid": str(row["conversation_uuid"]),
        "audio_url": audio_url or "", "reftime": reftime.isoformat(),
        "readable_reftime": reftime.strftime("%d-%b-%Y %I:%M %p"), "state": row["state"],
        "utterances": json.dumps(utterances), "format_utterances": "\n".join(a["transcript"] for a in first),
        "primary_utterance": first[0]["transcript"] if first else "", "context": json.dumps(context),
        "bot_response": context.get("bot_response", ""), "intents_info": json.dumps(row["intents_info"]),
        "prediction": json.dumps(row["prediction"]), "intent": row["intent"] or "",
        "intent_score": row["intent_score"], "slots": json.dumps(row["slots"]),
        "entities": json.dumps(row["entities"]), "call_url": call_url, "call_type": row["call_type"],
        "language": row["language"], "asr_provider": row["asr_provider"],
        "call_end_status": row["call_end_status"], "disposition": row["disposition"],
        "previous_disposition": row["previous_disposition"],
        "blocking_disposition": row["blocking_disposition"], "virtual_number": row["virtual_number"],
        "flow_version": row["flow_version"], "flow_id": row["flow_id"], "flow_name": row["flow_name"],
        "flow_uuid": str(row["flow_uuid"]), "template_id": row["template_id"],
        "client_uuid": str(row["client_uuid"]), "asr_latency": row["asr_latency"],
        "slu_latency": row["slu_latency"], "call_duration": row["duration_s"],
    }  # fmt: skip


def write_calls_csv(path: str, filters: dict[str, Any]) -> int:
    """Sample, format and write the CSV; returns the number of distinct calls written."""
    from bot.settings import Settings

    settings = Settings()
    if settings.warehouse_url is None:
        raise RuntimeError("CHARON_WAREHOUSE_URL is not set for this step")
    rows = asyncio.run(sample_calls(settings.warehouse_url.get_secret_value(), filters))
    zone = ZoneInfo(filters["timezone"])
    link = _audio_linker(settings, filters["use_fsm_url"])
    base = settings.audio_base_url.rstrip("/")
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            audio = link(row["audio_path"]) if row["audio_path"] else None
            call_url = row["call_url"] or f"{base}/calls/{row['call_uuid']}.wav"
            writer.writerow(turn_row(row, zone, audio, call_url))
    return len({row["call_id"] for row in rows})


def _audio_linker(settings: Any, presign: bool) -> Any:
    base = settings.audio_base_url.rstrip("/")
    if not presign:
        return lambda key: f"{base}/{key}"
    if not settings.audio_bucket:
        raise RuntimeError("use_fsm_url=true needs CHARON_AUDIO_BUCKET (the bucket holding turn audio)")
    import boto3

    s3 = boto3.client("s3", endpoint_url=settings.s3_endpoint_url)
    expiry = settings.presign_expiry_s
    return lambda key: s3.generate_presigned_url(
        "get_object", Params={"Bucket": settings.audio_bucket, "Key": key}, ExpiresIn=expiry
    )

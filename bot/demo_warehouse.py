"""The demo calls warehouse: realistic synthetic calls so ``fetch_calls_pipeline`` works out of the box.

Deterministic for a given seed and day, spread over the last 90 days, in several languages,
clients, flows and call types, with a few reported calls and turns without audio.
"""

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bot.migrations import apply_migrations

INTENTS = (
    "_confirm_", "_cancel_", "_maybe_", "_identity_", "other_language", "_greeting_", "ask_for_agent",
    "wrong_number", "_repeat_", "_what_", "dispute_debt", "inform_phone_number", "wont_pay",
    "inform_fund_shortage", "ask_for_installment", "_callback_", "inform_pay_later",
)  # fmt: skip
STATES = ("COF", "INTRO", "ASK_PAYMENT_DATE", "CONFIRM_IDENTITY", "PAYMENT_MODE", "CALLBACK", "GOODBYE")
UTTERANCES = {
    "_confirm_": ("yes", "yes that's right", "sure"), "_cancel_": ("no", "not now", "cancel it"),
    "_maybe_": ("maybe", "I'm not sure"), "_identity_": ("this is him", "speaking"),
    "_greeting_": ("hello", "hi there"), "ask_for_agent": ("can I talk to a person", "agent please"),
    "wrong_number": ("wrong number", "you have the wrong person"), "_repeat_": ("sorry say that again",),
    "_what_": ("what", "what is this about"), "dispute_debt": ("I already paid this", "that's not my loan"),
    "inform_phone_number": ("my number is nine eight seven",), "wont_pay": ("I won't pay",),
    "inform_fund_shortage": ("I don't have money right now",), "ask_for_installment": ("can I pay in parts",),
    "_callback_": ("call me later", "call back tomorrow"), "inform_pay_later": ("I'll pay next week",),
    "other_language": ("hindi mein bolo",),
}  # fmt: skip
LANGUAGES = (("en", 0.45), ("hi", 0.25), ("en-US", 0.1), ("ta", 0.05), ("te", 0.05), ("gu", 0.04),
             ("mr", 0.03), ("ma", 0.03))  # fmt: skip
FLOWS = tuple((i, f"{kind}_flow_{i}") for i, kind in enumerate(
    ["collections", "collections", "reminder", "kyc", "survey", "collections", "reminder", "support"] * 2, 1))
ASR = ("google", "deepgram", "azure")
SYSTEM_CALLERS = ("+910000000000", "+911111111111")


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def generate(calls: int, seed: int, now: datetime) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rng = random.Random(seed)
    langs, weights = zip(*LANGUAGES, strict=True)
    clients = {cid: _uuid(rng) for cid in range(1, 9)}
    flow_uuids = {fid: _uuid(rng) for fid, _ in FLOWS}
    call_rows: list[tuple[Any, ...]] = []
    turn_rows: list[tuple[Any, ...]] = []
    turn_id = 1
    for call_id in range(1, calls + 1):
        client = rng.randint(1, 8)
        flow_id, flow_name = rng.choice(FLOWS)
        started = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
        call_uuid = _uuid(rng)
        duration = round(rng.uniform(8, 600), 1)
        caller = rng.choice(SYSTEM_CALLERS) if rng.random() < 0.02 else f"+91{rng.randint(7000000000, 9999999999)}"
        call_rows.append((
            call_id, call_uuid, client, clients[client], str(100 + client % 4), flow_id, flow_uuids[flow_id],
            flow_name, f"v{rng.randint(1, 5)}", flow_name.split("_")[0], rng.choices(langs, weights)[0],
            rng.choices(("INBOUND", "OUTBOUND", "CALL_TEST"), (0.45, 0.5, 0.05))[0], caller,
            f"+9180{rng.randint(10000000, 99999999)}", rng.random() < 0.06, started, duration,
            None if rng.random() < 0.5 else f"https://recordings.example.com/calls/{call_uuid}.wav",
            rng.choice(("completed", "hangup", "transferred")), rng.choice(("PTP", "RTP", "CALLBACK", "NA")),
            "", "",
        ))  # fmt: skip
        conversation_uuid = _uuid(rng)
        at = started
        for position in range(rng.randint(2, 8)):
            at += timedelta(seconds=rng.uniform(3, 20))
            intent = rng.choice(INTENTS)
            texts = UTTERANCES.get(intent, ("okay",))
            nbest = [{"transcript": t, "confidence": round(rng.uniform(0.5, 0.99), 2)}
                     for t in rng.sample(texts, k=len(texts))]  # fmt: skip
            state = STATES[min(position, len(STATES) - 1)]
            turn_rows.append((
                turn_id, call_id, call_id, conversation_uuid,
                "INPUT" if rng.random() < 0.9 else "AUDIO", at, state, [nbest],
                {"bot_response": f"Prompt for {state.lower()}", "state": state},
                {"name": intent, "score": 0.9}, {"intent": intent}, intent, round(rng.uniform(0.4, 1.0), 3),
                [], [], None if rng.random() < 0.05 else f"audio/{call_uuid}/{turn_id}.wav",
                rng.choice(ASR), round(rng.uniform(0.1, 0.9), 3), round(rng.uniform(0.05, 0.3), 3),
            ))  # fmt: skip
            turn_id += 1
            if rng.random() < 0.7:  # the bot's own turn between user turns
                turn_rows.append((turn_id, call_id, call_id, conversation_uuid, "OUTPUT", at, state, None,
                                  None, None, None, None, None, None, None, None, "", None, None))  # fmt: skip
                turn_id += 1
    return call_rows, turn_rows


async def seed_demo_warehouse(pool: asyncpg.Pool, calls: int = 12_000, seed: int = 7, reset: bool = False) -> int:
    """Create the warehouse tables if needed and fill them; returns how many calls it holds."""
    await apply_migrations(pool, "warehouse")
    async with pool.acquire() as conn:
        if reset:
            await conn.execute("TRUNCATE turns, calls")
        existing = await conn.fetchval("SELECT count(*) FROM calls")
        if existing:
            return int(existing)
        call_rows, turn_rows = generate(calls, seed, datetime.now(UTC))
        async with conn.transaction():
            await conn.copy_records_to_table("calls", records=call_rows)
            await conn.copy_records_to_table("turns", records=turn_rows)
        return calls

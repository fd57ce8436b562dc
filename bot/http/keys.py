"""Typed keys for what the aiohttp application carries."""

from aiohttp import web

from bot.runtime import Charon

CHARON_KEY = web.AppKey("charon", Charon)

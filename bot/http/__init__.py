"""The aiohttp server: health, run pages, and (as configured) the HTTP API, metrics and Slack events."""

"""The one aiohttp application: platform webhooks and operational endpoints."""

"""Platform adapters: each translates inbound payloads to core commands and renders core views."""

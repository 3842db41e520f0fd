"""Integrations with the plant's other systems: signed webhooks (the outbox and its delivery worker)."""

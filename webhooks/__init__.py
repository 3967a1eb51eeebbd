"""The webhook deliverer: the shared log, as each partner's policy allows it, to the
partners' registered endpoints (Standard Webhooks)."""

"""The shared-log machinery: engines, the COALITION stream, relays and subscriptions."""

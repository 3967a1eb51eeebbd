"""The ground floor under the services and projections: configuration (the ``COALITION_*``
settings, logging, the organisations), the visibility rule, and the shared-log machinery —
the COALITION stream, publishing with the order guard, pulling and replaying. It knows
no service and no projection."""

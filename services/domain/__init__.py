"""The aggregates each service owns, as in the eventsourcing examples."""

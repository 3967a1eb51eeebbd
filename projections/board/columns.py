"""The columns of the board's CSV exports, in one light module (no I/O, no imports) so
that ``coalition export --help`` can list them without loading the board's read side.
``audit`` writes the CSV; these are its stable, documented headers."""

#: A board, one item a line (``position`` and ``digest`` are the board's, on every line).
BOARD_FIELDS = ("id", "kind", "status", "priority", "org", "tlp", "audience", "region", "title", "summary",
                "lead_org", "escalated", "escalated_at", "people_wanted", "people_pledged", "pledge_count",
                "tasks_open", "tasks_overdue", "next_due", "refs", "created_at", "updated_at", "position",
                "digest")
#: An item's timeline, one event a line, in log order.
TIMELINE_FIELDS = ("seq", "time", "kind", "org", "actor", "subject", "tlp", "summary")
#: The decisions, one a line; ``positions`` is every position taken, in log order, as a
#: JSON list of objects (org, position, reason, actor, at, seq).
DECISION_FIELDS = ("id", "status", "method", "question", "options", "evidence", "org", "tlp", "audience",
                   "proposed_by", "proposed_at", "proposed_seq", "board_position", "board_digest", "review_on",
                   "positions", "current_positions", "outcome", "rationale", "decided_by", "decided_actor",
                   "decided_at", "decided_seq", "decided_position", "decided_digest")

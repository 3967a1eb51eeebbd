"""The write side: one module per organisation service (``momentum``, ``scg``, ``unions``,
``forum``), each declaring its application and controllers; what they share (commands,
domain model, group commit, relay) beside them."""

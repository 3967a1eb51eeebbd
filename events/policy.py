"""The sharing policy: who may see an event, by TLP 2.0 and the audience it names.

* CLEAR, GREEN: every organisation of the coalition, and anonymous readers.
* AMBER: the recipients' organisations only, so never an anonymous reader. With an
  audience, the organisations it names; with none, the recipients are the coalition
  itself: every member organisation (each holds a key), but no one without a key.
* AMBER+STRICT and RED: the publisher and the named audience only.

The publisher always sees its own items. Anything else (an unknown TLP) is seen by the
publisher alone.
"""

from __future__ import annotations

#: What a reader without a key may see.
OPEN = ("CLEAR", "GREEN")


def can_see(viewer: str | None, publisher: str, tlp: str, audience: list[str] | None) -> bool:
    """Whether organisation ``viewer`` may see an item ``publisher`` shared as ``tlp`` with
    ``audience``; ``viewer`` None is a reader without a key (the board's open view)."""
    if tlp in OPEN:
        return True
    if viewer is None:
        return False
    if viewer == publisher:
        return True
    if tlp == "AMBER":
        return not audience or viewer in audience
    if tlp in ("AMBER+STRICT", "RED"):
        return viewer in (audience or [])
    return False

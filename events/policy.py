"""The sharing policy: who may see an event, by TLP 2.0 and the audience it names.

* CLEAR, GREEN: every organisation of the coalition.
* AMBER: every organisation, or only the audience when one is named.
* AMBER+STRICT and RED: the publisher and the named audience only.
"""

from __future__ import annotations


def can_see(viewer: str | None, publisher: str, tlp: str, audience: list[str] | None) -> bool:
    """``viewer`` None is the forum board's anonymous view (coordinators on the page)."""
    if viewer is not None and viewer == publisher:
        return True
    if tlp in ("CLEAR", "GREEN"):
        return True
    if tlp == "AMBER":
        return not audience or (viewer is not None and viewer in audience)
    return viewer is not None and viewer in (audience or [])

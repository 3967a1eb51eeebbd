"""Reading Server-Sent Events as a partner's or a coordinator's client does."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def messages(lines: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    """(event, id, data) of each message, as the lines of the stream arrive: a blank line
    ends a message; ``data`` lines are joined with newlines; comments are skipped."""
    event, ident, data = "message", "", []
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("id:"):
            ident = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            yield event, ident, "\n".join(data)
            event, ident, data = "message", "", []

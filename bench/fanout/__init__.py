"""fanout: S partners each read the whole shared log → p99 publish-to-receipt lag, nothing lost.

Target (a goal, not an assertion): p99 ≤ 100 ms with nothing lost at S=100, R=200/s.

**What a partner runs** (``durable``, ours). Each subscriber has its own NATS connection
and its own *durable pull consumer* of ``COALITION`` on ``coalition.>`` with explicit
acknowledgements (``AckPolicy.EXPLICIT``, each message acked once handled; ``--ack all``
is ``AckPolicy.ALL`` with the last handled message acked every 0.1 s, as the board
projection acks per batch). A pull consumer is what a partner really runs: the server
keeps its position across the partner's restarts, delivery is paced by what the partner
asks for (no flow control, no slow-consumer drops), and it scales out by running the same
durable in more processes; a durable push consumer with a deliver group is the older
style and needs flow control and heartbeats to be safe. The partner reads it with the
platform's own continuous pull client, ``events.pull.PullConsumer`` (as the Go, JavaScript
and .NET clients' ``Consume()`` do: pull requests for ``--batch`` messages kept topped up,
a callback per message, idle heartbeats), decodes each CloudEvent and acks it. ``--reader fetch`` is the nats-py idiom instead, a loop of
``fetch(batch)``: its latency is as good (2.16 asks with ``no_wait`` + ``expires`` and
returns as soon as anything is there) but every message costs a ``next_msg`` task, twice
the subscriber CPU, which on a shared 2-core machine turns into seconds of lag.

**Baseline** (``ordered``, the stock lightest JetStream reader): S *ordered push consumers*
(nats-py ``ordered_consumer=True``: ephemeral, state in memory, no acks, flow control),
one per connection, a callback per message. It keeps nothing on the server, so the ratio
is the price of durability and acknowledgements.

**Measure.** A publisher publishes valid CloudEvents (``AttackReported`` through
``encode_envelope``) on ``coalition.bench.attack.reported`` at a steady rate R for T
seconds with ``Bench-Sent-At`` (``time.time_ns()`` just before the publish) and
``Bench-Run`` headers. It publishes as a service's relay does, on subjects of its own
(``coalition.bench.>``) straight into ``COALITION`` (``events.stream``); the subscribers
read ``COALITION``. Subjects of its own rather than a real service's keep the benchmark's
messages off that service's subjects, where the relay's checkpoint is its last message. Each subscriber records receipt − sent per message and the set of
stream sequences of this run it got. Once the last publish is acknowledged the bench
waits (bounded) until every subscriber has every message, then counts lost (S ×
published − distinct received) and duplicates. Each run starts its consumers at the
stream's next sequence and deletes them at its end, so runs are independent; the two
modes alternate within a run so they share the machine's noise. Beside the lags it
reports CPU per delivered message (subscribers, embedded nats-server) and how many cores
other processes took meanwhile, since on a shared machine those explain the tail.

Subscribers are spread over ``--workers`` processes (default 2, one per core; 0 = in the
publisher's process, which delays the publisher's own clock). One process (workers=1)
does about as well as two, four do worse; in the publisher's process it is worst.

What limits it on a 2-core machine: S=100 × R=200 is 20,000 deliveries/s, each costing
~45 µs in a Python subscriber and ~40–50 µs in nats-server for a durable consumer (vs
~33 for an ordered one: the durable's state is kept on file; with memory-stored consumer
state it drops to ~22), so the whole box is busy and lag queues up; at S=50 the same
code meets the goal.

With COALITION_NATS_URL set its events go onto that server's real ``COALITION`` (and
stay there): use a scratch server, since read models consuming ``coalition.>`` would see
them.

The package, by role: ``options`` (what a run is told), ``generator`` (the publisher),
``subscribers`` (one partner), ``workers`` (subscribers grouped in an event loop, in
worker processes), ``cpu`` (where the machine's time goes), ``runner`` (phases and runs),
``report`` (figures and table), ``cli`` (the command line).
"""

from __future__ import annotations

from bench.fanout.cli import main

__all__ = ["main"]

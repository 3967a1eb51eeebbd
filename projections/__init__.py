"""Read models built from the shared log: each a durable pull consumer of COALITION."""

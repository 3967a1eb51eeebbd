"""The rapid-response board: attacks by triage status; strikes, pickets and solidarity
requests; actions with pledge totals against their asks; wins."""

"""Outcome records of the agent's actions (see the Outcomes issue)."""

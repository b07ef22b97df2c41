"""A deterministic generator of at-least-once deliveries, with faults and the truth.

``events`` simulates what producers emit; ``deliveries`` decides how each event reaches
the landing zone (retries, replays, late, lost, corrupt); ``truth`` computes the expected
warehouse contents from those deliveries alone, without any warehouse code.
"""

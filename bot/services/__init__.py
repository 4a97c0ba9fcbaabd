"""Use cases: core logic + storage + gateways, behind ports. No slack_bolt here."""

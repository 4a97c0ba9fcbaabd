"""Slack adapter: the only package that knows Slack's wire format."""

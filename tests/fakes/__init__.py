"""Test fakes: real HTTP servers on 127.0.0.1 speaking the Slack and OpenAI APIs."""

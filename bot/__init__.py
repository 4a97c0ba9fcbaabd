"""Finetune Bot: run OpenAI fine-tuning from Slack."""

"""Finetune Bot: run fine-tuning on OpenAI, Together AI or Azure OpenAI from Slack."""

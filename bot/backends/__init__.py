"""Fine-tuning backends: one adapter per provider, each implementing the FineTuningBackend port."""

"""The inbox: durable deliveries, the group-commit writer, the relay to Temporal (the outbox)."""

"""The tool gateway: intents (registry), their executors, the service that checks and runs them."""

"""The ClickUp <-> Slack mirror: its id map (store), what an event becomes (plan), its writes."""

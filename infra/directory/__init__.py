"""The directory: tenants, integrations, agents, aliases, identity links, projects, routing."""

"""Human approval for risky intents: rules on grants, requests, decisions (README, Approvals)."""

-- Undo 0017: the tenants' Slack slash commands.
ALTER TABLE tenants DROP COLUMN slack_commands;

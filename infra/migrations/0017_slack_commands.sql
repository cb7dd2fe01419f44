-- The Slack slash commands a tenant's Slack app sends to Switchboard (issue #13 item 2). A
-- command not in this list is answered with a note and stored nothing; names are checked by
-- the admin API (a slash, then 1-31 of a-z 0-9 _ -, as Slack names them).
ALTER TABLE tenants ADD COLUMN slack_commands text[] NOT NULL DEFAULT '{/switchboard}';

-- Undo 0001: the foundation's tables and the inbox trigger (back since 0005's down step).
DROP TABLE events;
DROP TRIGGER inbox_notify ON inbox;
DROP FUNCTION inbox_notify();
DROP TABLE inbox;
DROP TABLE project_mappings;
DROP TABLE projects;
DROP TABLE aliases;
DROP TABLE agents;
DROP TABLE integrations;
DROP TABLE tenants;

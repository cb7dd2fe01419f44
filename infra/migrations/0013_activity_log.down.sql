-- Undo 0013: the activity log (its records are lost).
DROP TABLE activity_log;

-- Undo 0023: the mirror's id map and its pairs.
DROP TABLE mirror_messages;
DROP TABLE mirror_threads;
DROP TABLE mirror_pairs;

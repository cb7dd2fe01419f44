-- Undo 0003: the embedded vault's sealed secrets (their values are lost).
DROP TABLE secrets;

-- postcall schema, version 10: the attempts move to a file of their own (schema/attempt_log/).
-- Renamed here, in the outbox's migration transaction, so that `attempts` now names the attempt
-- log's table; the rows are then copied there and this table dropped, each in a transaction of
-- its own (`Database.moveAttemptsToTheirFile`): a commit spanning both files is not atomic in
-- WAL mode, and copying first means a crash can leave rows in both places, never in neither.
ALTER TABLE attempts RENAME TO attempts_moved;

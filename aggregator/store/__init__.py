"""The store: the one writer of camera state and the SQL that reads it."""

"""The database: engines, read connections, prepared statements, cursors, each dialect's
specifics, and the commands that check, attach and migrate a database."""

"""What the connected database holds, and the commands that check and attach it."""

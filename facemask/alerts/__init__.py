"""The violation monitor (decides and returns events) and its actions (beep, command)."""

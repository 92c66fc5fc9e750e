"""What the console shows, read from where the jobs wrote it (read only, never changed here)."""

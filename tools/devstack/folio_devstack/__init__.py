"""Development stack runner."""

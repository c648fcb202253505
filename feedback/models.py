"""Models of feedback arrive with its issue."""

"""Models of coaching arrive with its issue."""

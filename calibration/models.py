"""Models of calibration arrive with its issue."""

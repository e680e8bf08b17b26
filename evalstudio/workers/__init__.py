"""QtCore-only background jobs: each runs one core call in a QThread."""

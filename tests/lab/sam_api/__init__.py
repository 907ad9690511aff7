"""LAB ONLY: stand-in for the SAM System Status API (see server.py)."""

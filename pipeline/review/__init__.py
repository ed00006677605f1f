"""The review page: a local web app where a person settles what the scanner was unsure of (see app.py, views.py)."""

"""`papervoice app`: the whole job in one local web page (Print, Scan, Status, Review, Results, Help).

It grows the review app (`pipeline.review.app`): the same Flask app, guard, CSRF, host check and sign-in,
with review's pages under /review and a Blueprint per part of the office's job beside them.  Every part
calls the library the commands call (generate, scan's coordinator, status's reconcile, export), with the
same options objects: the app only turns requests into those calls.
"""
